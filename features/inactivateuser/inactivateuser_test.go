package inactivateuser

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey/apikeytest"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users map[string]user.User
	calls []string
	inTx  bool
	audittest.Trail
	apikeytest.Keys
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.inTx = true
	defer func() { f.inTx = false }()
	return f.Trail.WithinTx(ctx, fn)
}

func (f *fakeStore) record(call string) {
	if !f.inTx {
		call += " outside tx"
	}
	f.calls = append(f.calls, call)
}

func (f *fakeStore) UserByUsernameForUpdate(_ context.Context, name string) (user.User, error) {
	f.record("lock " + name)
	u, ok := f.users[strings.ToLower(name)]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) SetUserActive(_ context.Context, id uuid.UUID, active bool, at time.Time) error {
	f.record("set active")
	for k, u := range f.users {
		if u.ID == id {
			u.IsActive, u.UpdatedAt = active, at
			f.users[k] = u
		}
	}
	return nil
}

func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	f.record("delete sessions")
	return 1, nil
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore, auth.Actor) {
	admin := user.User{ID: user.NewID(), Username: "the.admin", Role: user.RoleAdmin, IsActive: true}
	f := &fakeStore{users: map[string]user.User{
		"the.admin":   admin,
		"other.admin": {ID: user.NewID(), Username: "other.admin", Role: user.RoleAdmin, IsActive: true},
		"target":      {ID: user.NewID(), Username: "target", Role: user.RoleUser, IsActive: true, UpdatedAt: t0.Add(-time.Hour)},
	}}
	return New(f, func() time.Time { return t0 }), f, auth.Actor{User: admin, SessionID: []byte{1}}
}

func TestInactivate(t *testing.T) {
	i, f, admin := setup()
	f.Give(f.users["target"].ID, 3)
	u, err := i.Execute(context.Background(), admin, Input{Username: "TARGET"})
	if err != nil || u.IsActive || !u.UpdatedAt.Equal(t0) {
		t.Fatalf("Execute = %+v, %v", u, err)
	}
	if got := strings.Join(f.calls, "|"); got != "lock TARGET|set active|delete sessions" {
		t.Fatalf("calls %q: all in one transaction, sessions deleted", got)
	}
	if got := f.Types(); len(got) != 3 || got[0] != audit.UserInactivated || got[1] != audit.SessionEnded || got[2] != audit.APIKeyRevoked ||
		f.Ended(session.EndedByInactivation) != 1 || f.Events[0].Actor.ID != admin.User.ID || f.Events[0].Target.ID != u.ID {
		t.Fatalf("events %+v, want user.inactivated, session.ended and api_key.revoked by the admin", f.Events)
	}
	if d := f.Events[2].Details; len(f.Held) != 0 || d["reason"] != "inactivation" || d["revoked"] != 3 || f.Events[2].Actor.ID != admin.User.ID {
		t.Fatalf("keys left %v, revocation %+v", f.Held, f.Events[2])
	}
	// Idempotent: nothing written the second time.
	f.calls = nil
	u2, err := i.Execute(context.Background(), admin, Input{Username: "target"})
	if err != nil || u2.IsActive || !u2.UpdatedAt.Equal(t0) || len(f.calls) != 1 || len(f.Events) != 3 {
		t.Fatalf("second Execute = %+v, %v, calls %q, %d events", u2, err, f.calls, len(f.Events))
	}
}

func TestInactivateRefusals(t *testing.T) {
	i, f, admin := setup()
	plain := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleUser}, SessionID: []byte{1}}
	tests := []struct {
		actor auth.Actor
		name  string
		want  error
	}{
		{auth.Actor{}, "target", auth.ErrNotAuthenticated},
		{plain, "nobody.here", auth.ErrForbidden}, // 403 before 404
		{plain, "", auth.ErrForbidden},            // 403 before 422
		{admin, "", apperr.ErrInvalid},
		{admin, "nobody.here", user.ErrNotFound},
		{admin, "the.admin", auth.ErrForbidden},   // self
		{admin, "other.admin", auth.ErrForbidden}, // peer
	}
	for _, tc := range tests {
		if _, err := i.Execute(context.Background(), tc.actor, Input{Username: tc.name}); !errors.Is(err, tc.want) {
			t.Errorf("%s on %q: %v, want %v", tc.actor.User.Role, tc.name, err, tc.want)
		}
	}
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "lock ") {
			t.Fatalf("a refused request wrote: %q", f.calls)
		}
	}
	if len(f.Events) != 0 {
		t.Fatalf("a refused request recorded %+v", f.Events)
	}
}
