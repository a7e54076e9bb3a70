package logout

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	deleted [][]byte
	gone    bool
	audittest.Trail
}

func (f *fakeStore) DeleteSession(_ context.Context, id []byte) (int, error) {
	if f.gone {
		return 0, nil
	}
	f.deleted = append(f.deleted, id)
	return 1, nil
}

func TestLogout(t *testing.T) {
	f := &fakeStore{}
	i := New(f, func() time.Time { return t0 })
	if err := i.Execute(context.Background(), auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.deleted) != 0 {
		t.Fatalf("anonymous logout: %v, %d deletes", err, len(f.deleted))
	}
	alice := user.User{ID: user.NewID()}
	if err := i.Execute(context.Background(), auth.Actor{User: alice, SessionID: []byte("sid")}); err != nil || len(f.deleted) != 1 || string(f.deleted[0]) != "sid" {
		t.Fatalf("logout: %v, deleted %q", err, f.deleted)
	}
	if len(f.Events) != 1 || f.Ended(session.EndedByLogout) != 1 || f.Events[0].Actor.ID != alice.ID || f.Events[0].Target.ID != alice.ID || f.Events[0].OccurredAt != t0 {
		t.Fatalf("events %+v, want one session.ended (logout) by and of alice", f.Events)
	}
	// A session already gone (a second logout racing the first) ends nothing and records nothing.
	f.gone = true
	if err := i.Execute(context.Background(), auth.Actor{User: alice, SessionID: []byte("sid")}); err != nil || len(f.Events) != 1 {
		t.Fatalf("logout of a gone session: %v, events %+v", err, f.Events)
	}
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
