package authenticate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	authtest.Attempts
	keys     map[uuid.UUID]apikey.Key
	keyReads int
	uses     []use
	sessions map[string]session.Session
	users    map[uuid.UUID]user.User
	extended int
	fail     error
	events   []audit.Event
	inTx     bool
}

// use is one written use of a key.
type use struct {
	id     uuid.UUID
	at     time.Time
	ip     string
	rehash []byte
}

func (f *fakeStore) APIKeyWithUser(_ context.Context, id uuid.UUID) (apikey.Key, user.User, error) {
	f.keyReads++
	if f.fail != nil {
		return apikey.Key{}, user.User{}, f.fail
	}
	k, ok := f.keys[id]
	if !ok {
		return apikey.Key{}, user.User{}, apikey.ErrNotFound
	}
	return k, f.users[k.UserID], nil
}

func (f *fakeStore) UseAPIKey(_ context.Context, id uuid.UUID, now time.Time, ip string, rehash []byte) error {
	f.uses = append(f.uses, use{id, now, ip, rehash})
	k := f.keys[id]
	k.LastUsedAt = now
	if rehash != nil {
		k.Hash = rehash
	}
	f.keys[id] = k
	return nil
}

func (f *fakeStore) DeleteUserAPIKeys(_ context.Context, userID uuid.UUID) (int, error) {
	n := 0
	for id, k := range f.keys {
		if k.UserID == userID {
			delete(f.keys, id)
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.inTx = true
	defer func() { f.inTx = false }()
	return fn(ctx)
}

func (f *fakeStore) RecordEvent(_ context.Context, e audit.Event) error {
	if !f.inTx {
		return errors.New("event recorded outside a transaction")
	}
	f.events = append(f.events, e)
	return nil
}

func (f *fakeStore) SessionWithUser(_ context.Context, id []byte) (session.Session, user.User, error) {
	if f.fail != nil {
		return session.Session{}, user.User{}, f.fail
	}
	s, ok := f.sessions[string(id)]
	if !ok {
		return session.Session{}, user.User{}, session.ErrNotFound
	}
	return s, f.users[s.UserID], nil
}

func (f *fakeStore) ExtendSession(_ context.Context, id []byte, expiresAt, lastSeenAt time.Time) error {
	s := f.sessions[string(id)]
	s.ExpiresAt, s.LastSeenAt = expiresAt, lastSeenAt
	f.sessions[string(id)] = s
	f.extended++
	return nil
}

func (f *fakeStore) DeleteUserSessions(_ context.Context, userID uuid.UUID) (int, error) {
	n := 0
	for k, s := range f.sessions {
		if s.UserID == userID {
			delete(f.sessions, k)
			n++
		}
	}
	return n, nil
}

var (
	t0     = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	policy = session.Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}
)

// setup stores one session for an active user, started at t0.
func setup(active bool) (*fakeStore, string, *time.Time, *Interactor) {
	return setupAs(active, user.RoleUser, nil)
}

// setupAs stores one session for a user of role, started at t0; the
// roles in enroll must have a second factor.
func setupAs(active bool, role user.Role, enroll []user.Role) (*fakeStore, string, *time.Time, *Interactor) {
	u := user.User{ID: user.NewID(), Username: "alice", Role: role, IsActive: active}
	secret, id := session.NewSecret()
	f := &fakeStore{
		sessions: map[string]session.Session{string(id): policy.Start(id, u.ID, t0)},
		users:    map[uuid.UUID]user.User{u.ID: u},
		keys:     map[uuid.UUID]apikey.Key{},
	}
	now := t0
	return f, secret, &now, New(f, &hasher{}, Config{Policy: policy, Enroll: enroll, Guard: guard}, func() time.Time { return now })
}

// guard counts refused keys: 3 per client.
var guard = auth.Guard{PerUser: 5, PerIP: 3, Window: time.Hour, Key: []byte("k")}

func TestValidSessionOutsideRefreshWindow(t *testing.T) {
	f, secret, now, i := setup(true)
	*now = t0.Add(5 * time.Minute)
	res, err := i.Execute(context.Background(), secret, nil)
	if err != nil || res.Actor.User.Username != "alice" || !res.Actor.Authenticated() {
		t.Fatalf("Execute = %+v, %v", res, err)
	}
	if res.Renewed || f.extended != 0 {
		t.Fatalf("renewed outside the window: %+v, %d writes", res, f.extended)
	}
}

func TestRenewalInsideWindowNeverPastAbsolute(t *testing.T) {
	f, secret, now, i := setup(true)
	*now = t0.Add(13 * time.Minute) // 2 of 15 minutes left: inside the 20 % window
	res, err := i.Execute(context.Background(), secret, nil)
	if err != nil || !res.Renewed || !res.ExpiresAt.Equal(t0.Add(28*time.Minute)) || !res.Now.Equal(*now) || f.extended != 1 {
		t.Fatalf("Execute = %+v, %v, %d writes", res, err, f.extended)
	}
	// Keep renewing until the absolute expiry caps it.
	for m := 26; m < 60; m += 13 {
		*now = t0.Add(time.Duration(m) * time.Minute)
		res, err = i.Execute(context.Background(), secret, nil)
		if err != nil {
			t.Fatalf("at %d min: %v", m, err)
		}
		if res.ExpiresAt.After(t0.Add(time.Hour)) {
			t.Fatalf("renewed past the absolute expiry: %v", res.ExpiresAt)
		}
	}
	*now = t0.Add(time.Hour)
	if _, err := i.Execute(context.Background(), secret, nil); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("at the absolute expiry: %v", err)
	}
}

func TestExpiredSession(t *testing.T) {
	_, secret, now, i := setup(true)
	*now = t0.Add(15 * time.Minute)
	if _, err := i.Execute(context.Background(), secret, nil); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("expired session: %v", err)
	}
}

func TestInactiveUserLosesEverySession(t *testing.T) {
	f, secret, _, i := setup(false)
	src := func() audit.Source { return audit.Source{IP: "192.0.2.7", RequestID: "r-1"} }
	if _, err := i.Execute(context.Background(), secret, src); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("inactive user: %v", err)
	}
	if len(f.sessions) != 0 {
		t.Fatalf("%d sessions left", len(f.sessions))
	}
	// Recorded as the end of one session, by nobody, of the user.
	var alice uuid.UUID
	for id := range f.users {
		alice = id
	}
	if len(f.events) != 1 {
		t.Fatalf("events %+v, want one", f.events)
	}
	e := f.events[0]
	reason, n, ok := e.Ended()
	if !ok || reason != string(session.EndedByInactivation) || n != 1 || !e.Actor.ID.IsNil() || e.Target.ID != alice || e.IP != "192.0.2.7" || e.RequestID != "r-1" {
		t.Fatalf("event %+v", e)
	}
}

func TestUnknownAndMalformedSecrets(t *testing.T) {
	_, _, _, i := setup(true)
	other, _ := session.NewSecret()
	for _, s := range []string{other, "", "not-base64!"} {
		if _, err := i.Execute(context.Background(), s, nil); !errors.Is(err, auth.ErrNotAuthenticated) {
			t.Errorf("secret %q: %v", s, err)
		}
	}
}

func TestStoreFailureIsNotA401(t *testing.T) {
	f, secret, _, i := setup(true)
	f.fail = errors.New("connection refused")
	if _, err := i.Execute(context.Background(), secret, nil); err == nil || errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("a database fault became %v", err)
	}
}

// TestSecondFactorRequiredByRole: a user whose role is listed and who has
// no second factor (users.second_factor, read with the session: an
// authenticator app or a passkey, never recovery codes alone) must enroll
// one.
func TestSecondFactorRequiredByRole(t *testing.T) {
	enroll := []user.Role{user.RoleAdmin, user.RoleSuperAdmin}
	for _, c := range []struct {
		name         string
		role         user.Role
		enroll       []user.Role
		secondFactor bool
		mustEnroll   bool
	}{
		{"an admin without a factor", user.RoleAdmin, enroll, false, true},
		{"a super admin without a factor", user.RoleSuperAdmin, enroll, false, true},
		{"an admin with a factor", user.RoleAdmin, enroll, true, false},
		{"a user of a role not listed", user.RoleUser, enroll, false, false},
		{"no roles listed (the default)", user.RoleSuperAdmin, nil, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, secret, _, i := setupAs(true, c.role, c.enroll)
			for id, u := range f.users {
				u.SecondFactor = c.secondFactor
				f.users[id] = u
			}
			res, err := i.Execute(context.Background(), secret, nil)
			if err != nil || !res.Actor.Authenticated() {
				t.Fatalf("Execute = %+v, %v", res, err)
			}
			if res.MustEnroll != c.mustEnroll {
				t.Fatalf("MustEnroll = %v, want %v", res.MustEnroll, c.mustEnroll)
			}
		})
	}
}
