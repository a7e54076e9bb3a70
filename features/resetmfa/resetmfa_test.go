package resetmfa

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey/apikeytest"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore holds one target's factors, sessions and pending logins.
type fakeStore struct {
	audittest.Trail
	onetimetest.Outbox
	apikeytest.Keys
	target                   user.User
	totp                     bool
	codes, sessions, pending int
}

func (f *fakeStore) UserByUsernameForUpdate(_ context.Context, name string) (user.User, error) {
	if name != f.target.Username {
		return user.User{}, user.ErrNotFound
	}
	return f.target, nil
}

func (f *fakeStore) DeleteTOTP(context.Context, uuid.UUID) (bool, error) {
	had := f.totp
	f.totp = false
	return had, nil
}

func (f *fakeStore) DeletePasskeys(context.Context, uuid.UUID) (int, error) { return 0, nil }

func (f *fakeStore) DeleteRecoveryCodes(context.Context, uuid.UUID) (int, error) {
	n := f.codes
	f.codes = 0
	return n, nil
}

func (f *fakeStore) DeleteUserPendingLogins(context.Context, uuid.UUID) error {
	f.pending = 0
	return nil
}

func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	n := f.sessions
	f.sessions = 0
	return n, nil
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func actor(role user.Role) auth.Actor {
	return auth.Actor{User: user.User{ID: user.NewID(), Username: "the.actor", Role: role}, SessionID: []byte{1}}
}

func TestReset(t *testing.T) {
	store := &fakeStore{target: user.User{ID: user.NewID(), Username: "alice", Role: user.RoleUser}, totp: true, codes: 7, sessions: 2, pending: 1}
	store.Give(store.target.ID, 4)
	i := New(store, store, func() time.Time { return t0 })
	ctx := context.Background()
	u, err := i.Execute(ctx, actor(user.RoleAdmin), Input{Username: "alice"})
	if err != nil || u.ID != store.target.ID {
		t.Fatalf("reset: %+v %v", u, err)
	}
	if store.totp || store.codes+store.sessions+store.pending != 0 {
		t.Fatalf("left %+v", store)
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.APIKeyRevoked, audit.MFAReset, audit.SessionEnded}) || store.Ended(session.EndedByMFAReset) != 2 {
		t.Fatalf("events %v", store.Types())
	}
	if d := store.Events[1].Details; d["totp"] != true || d["recovery_codes"] != 7 {
		t.Fatalf("details %v", d)
	}
	if d := store.Events[0].Details; len(store.Held) != 0 || d["reason"] != "mfa_reset" || d["revoked"] != 4 {
		t.Fatalf("keys left %v, revocation %v", store.Held, d)
	}
	store.sessions = 3 // logged in again, no factor
	if _, err := i.Execute(ctx, actor(user.RoleAdmin), Input{Username: "alice"}); err != nil || store.sessions != 3 || len(store.Events) != 3 {
		t.Fatalf("a reset without factors changed something: %v, %d sessions, %d events", err, store.sessions, len(store.Events))
	}
}

func TestResetIsForAdminsOverLowerRanks(t *testing.T) {
	store := &fakeStore{target: user.User{ID: user.NewID(), Username: "alice", Role: user.RoleAdmin}, totp: true}
	i := New(store, store, func() time.Time { return t0 })
	ctx := context.Background()
	for name, c := range map[string]struct {
		actor auth.Actor
		name  string
		want  error
	}{
		"anonymous":  {auth.Actor{}, "alice", auth.ErrNotAuthenticated},
		"a user":     {actor(user.RoleUser), "alice", auth.ErrForbidden},
		"a peer":     {actor(user.RoleAdmin), "alice", auth.ErrForbidden},
		"unknown":    {actor(user.RoleSuperAdmin), "nobody", user.ErrNotFound},
		"a bad name": {actor(user.RoleSuperAdmin), "a!", nil},
	} {
		_, err := i.Execute(ctx, c.actor, Input{Username: c.name})
		if err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if !store.totp || len(store.Events) != 0 {
		t.Fatal("a refused reset changed something")
	}
	if _, err := i.Execute(ctx, actor(user.RoleSuperAdmin), Input{Username: "alice"}); err != nil || store.totp {
		t.Fatalf("a super admin over an admin: %v", err)
	}
}
