package listactivity

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

type fakeStore struct{ got []audit.Query }

func (f *fakeStore) AuditEvents(_ context.Context, q audit.Query) ([]audit.Event, error) {
	f.got = append(f.got, q)
	out := make([]audit.Event, q.Limit) // always a full page and more
	for i := range out {
		out[i] = audit.Event{ID: user.NewID(), OccurredAt: time.Now().UTC(), Type: audit.LoginSucceeded}
	}
	return out, nil
}

func TestActivityIsTheCallersOwn(t *testing.T) {
	f := &fakeStore{}
	i := New(f)
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{}, audit.Params{}); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.got) != 0 {
		t.Fatalf("anonymous: %v", err)
	}
	alice := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleUser}, SessionID: []byte{1}}
	res, err := i.Execute(ctx, alice, audit.Params{Limit: "3", Type: "login.failed"})
	if err != nil || len(res.Events) != 3 || res.NextCursor == "" {
		t.Fatalf("page: %+v, %v", res, err)
	}
	if q := f.got[0]; q.TargetID != alice.User.ID || q.Target != "" || q.Actor != "" || len(q.Types) != 1 {
		t.Fatalf("asked %+v, want alice's events by id", q)
	}
	// A cursor of the whole trail, filtered by another target, is not one of hers.
	other := audit.Query{Target: "bob", Limit: 1}.Cursor(audit.Event{ID: user.NewID(), OccurredAt: res.Events[0].OccurredAt})
	if _, err := i.Execute(ctx, alice, audit.Params{Cursor: other}); !errors.Is(err, apperr.ErrInvalid) || len(f.got) != 1 {
		t.Fatalf("another list's cursor: %v", err)
	}
}
