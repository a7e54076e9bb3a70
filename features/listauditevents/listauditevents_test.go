package listauditevents

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore returns n events, whatever is asked, and keeps the queries.
type fakeStore struct {
	n   int
	got []audit.Query
}

func (f *fakeStore) AuditEvents(_ context.Context, q audit.Query) ([]audit.Event, error) {
	f.got = append(f.got, q)
	out := make([]audit.Event, min(f.n, q.Limit))
	for i := range out {
		out[i] = audit.Event{ID: user.NewID(), OccurredAt: time.Now().UTC(), Type: audit.LoginFailed}
	}
	return out, nil
}

func actor(r user.Role) auth.Actor {
	return auth.Actor{User: user.User{ID: user.NewID(), Role: r}, SessionID: []byte{1}}
}

func TestOnlySuperAdminsReadTheTrail(t *testing.T) {
	f := &fakeStore{n: 3}
	i := New(f)
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{}, audit.Params{}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Errorf("anonymous: %v", err)
	}
	for _, r := range []user.Role{user.RoleUser, user.RoleAdmin} {
		if _, err := i.Execute(ctx, actor(r), audit.Params{Limit: "bad"}); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("%s (403 before 422): %v", r, err)
		}
	}
	if len(f.got) != 0 {
		t.Fatal("refused requests reached the store")
	}
	if _, err := i.Execute(ctx, actor(user.RoleSuperAdmin), audit.Params{Type: "nope"}); !errors.Is(err, apperr.ErrInvalid) || len(f.got) != 0 {
		t.Fatalf("bad type: %v", err)
	}
	res, err := i.Execute(ctx, actor(user.RoleSuperAdmin), audit.Params{Limit: "2", Target: "bob"})
	if err != nil || len(res.Events) != 2 || res.NextCursor == "" {
		t.Fatalf("page: %+v, %v", res, err)
	}
	if q := f.got[0]; q.Limit != 3 || q.Target != "bob" || !q.TargetID.IsNil() {
		t.Fatalf("asked the store for %+v, want limit+1 and the target's name", q)
	}
	res, err = i.Execute(ctx, actor(user.RoleSuperAdmin), audit.Params{Cursor: res.NextCursor, Limit: "5"})
	if err != nil || res.NextCursor != "" || f.got[1].After == nil || f.got[1].Target != "bob" {
		t.Fatalf("last page: %+v, %v; asked %+v", res, err, f.got[1])
	}
}
