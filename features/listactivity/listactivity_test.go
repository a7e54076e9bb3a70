package listactivity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	got    []audit.Query
	events []audit.Event // served first
}

func (f *fakeStore) AuditEvents(_ context.Context, q audit.Query) ([]audit.Event, error) {
	f.got = append(f.got, q)
	out := make([]audit.Event, q.Limit) // always a full page and more
	for i := range out {
		out[i] = audit.Event{ID: user.NewID(), OccurredAt: time.Now().UTC(), Type: audit.LoginSucceeded}
	}
	copy(out, f.events)
	return out, nil
}

// TestClientShownOnlyOfOwnEvents: the address, browser and request id of
// an event are shown only when the caller acted; an admin's (a reset) and
// an anonymous party's (a failed login) are left out.
func TestClientShownOnlyOfOwnEvents(t *testing.T) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleUser}, SessionID: []byte{1}}
	src := audit.Source{IP: "192.0.2.9", UserAgent: "Admin Browser", RequestID: "req-1"}
	ctx := audit.WithSource(context.Background(), src)
	own := audit.New(ctx, time.Now(), audit.PasswordChanged, alice.User.ID, alice.User.ID, nil)
	byAdmin := audit.New(ctx, time.Now(), audit.PasswordSet, user.NewID(), alice.User.ID, nil)
	anonymous := audit.New(ctx, time.Now(), audit.LoginFailed, uuid.Nil, alice.User.ID, nil)
	f := &fakeStore{events: []audit.Event{own, byAdmin, anonymous}}
	res, err := New(f).Execute(ctx, alice, audit.Params{Limit: "5"})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Events[0]; e.IP != src.IP || e.UserAgent != src.UserAgent || e.RequestID != src.RequestID {
		t.Errorf("own event without its client: %+v", e)
	}
	for _, e := range res.Events[1:3] {
		if e.IP != "" || e.UserAgent != "" || e.RequestID != "" {
			t.Errorf("%s shows another party's client: %+v", e.Type, e)
		}
	}
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
