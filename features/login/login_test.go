package login

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore is every port of the slice over maps.
type fakeStore struct {
	users    map[string]user.User // by lower-case name
	sessions []session.Session
	failures map[string]int
	starts   map[string]time.Time
	rehashed int
	outcomes []string
	audittest.Trail
}

func (f *fakeStore) LoginOutcome(o string) { f.outcomes = append(f.outcomes, o) }

// DeleteOldestSessions keeps the user's newest keep sessions.
func (f *fakeStore) DeleteOldestSessions(_ context.Context, userID uuid.UUID, keep int) (int, error) {
	var kept []session.Session
	n, mine := 0, 0
	for i := len(f.sessions) - 1; i >= 0; i-- { // newest last
		s := f.sessions[i]
		if s.UserID == userID {
			mine++
			if mine > keep {
				n++
				continue
			}
		}
		kept = append([]session.Session{s}, kept...)
	}
	f.sessions = kept
	return n, nil
}

func newFakeStore(users ...user.User) *fakeStore {
	f := &fakeStore{users: map[string]user.User{}, failures: map[string]int{}, starts: map[string]time.Time{}}
	for _, u := range users {
		f.users[strings.ToLower(u.Username)] = u
	}
	return f
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (user.User, error) {
	u, ok := f.users[strings.ToLower(name)]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) UpdatePasswordHash(_ context.Context, id uuid.UUID, hash string, _ time.Time) error {
	for k, u := range f.users {
		if u.ID == id {
			u.PasswordHash = hash
			f.users[k] = u
			f.rehashed++
		}
	}
	return nil
}

func (f *fakeStore) InsertSessionIfActive(_ context.Context, s session.Session) (bool, error) {
	for _, u := range f.users {
		if u.ID == s.UserID && u.IsActive {
			f.sessions = append(f.sessions, s)
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeStore) LoginFailures(_ context.Context, userKey, ipKey string) (auth.FailureWindow, auth.FailureWindow, error) {
	return auth.FailureWindow{Failures: f.failures[userKey], Start: f.starts[userKey]},
		auth.FailureWindow{Failures: f.failures[ipKey], Start: f.starts[ipKey]}, nil
}

func (f *fakeStore) RecordLoginFailure(_ context.Context, now time.Time, window time.Duration, keys ...string) error {
	for _, k := range keys {
		if f.failures[k] == 0 || !f.starts[k].After(now.Add(-window)) {
			f.failures[k], f.starts[k] = 0, now
		}
		f.failures[k]++
	}
	return nil
}

func (f *fakeStore) ClearLoginFailures(_ context.Context, key string) error {
	delete(f.failures, key)
	delete(f.starts, key)
	return nil
}

// fakeHasher "hashes" by prefixing and counts verifications.
type fakeHasher struct {
	verifies int
	params   string
}

func (h *fakeHasher) Verify(_ context.Context, encoded, password string) (bool, error) {
	h.verifies++
	_, pw, _ := strings.Cut(encoded, ":")
	return pw == password, nil
}

func (h *fakeHasher) Hash(_ context.Context, password string) (string, error) {
	return h.params + ":" + password, nil
}

func (h *fakeHasher) NeedsRehash(encoded string) bool {
	return !strings.HasPrefix(encoded, h.params+":")
}

func (h *fakeHasher) Dummy() string { return h.params + ":" + "\x00dummy" }

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var policy = session.Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func setup(users ...user.User) (*Interactor, *fakeStore, *fakeHasher, *clock) {
	store, hasher, clk := newFakeStore(users...), &fakeHasher{params: "v2"}, &clock{now: t0}
	limits := Limits{PerUsername: 5, PerIP: 50, Window: 15 * time.Minute, SessionsPerUser: 3}
	return New(store, store, store, store, hasher, store, policy, limits, clk.Now), store, hasher, clk
}

func alice(active bool) user.User {
	return user.User{ID: user.NewID(), Username: "Alice", PasswordHash: "v2:secret-pw", Role: user.RoleUser, IsActive: active}
}

func TestLoginSuccess(t *testing.T) {
	i, store, _, _ := setup(alice(true))
	res, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.User.Username != "Alice" || res.Secret == "" || len(store.sessions) != 1 {
		t.Fatalf("result %+v, %d sessions", res, len(store.sessions))
	}
	s := store.sessions[0]
	id, _ := session.IDFromSecret(res.Secret)
	if string(s.ID) != string(id) || s.UserID != res.User.ID || !s.ExpiresAt.Equal(t0.Add(15*time.Minute)) || !s.AbsoluteExpiresAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("session %+v", s)
	}
}

// TestOneVerificationPerAttempt: unknown user, wrong password, inactive user
// and success each cost exactly one hash verification, so timing does not
// tell them apart.
func TestOneVerificationPerAttempt(t *testing.T) {
	bob := alice(false)
	bob.Username, bob.ID = "bob", user.NewID()
	attempts := map[string]struct {
		in   Input
		want error
	}{
		"unknown user":   {Input{Username: "nobody", Password: "secret-pw"}, auth.ErrInvalidCredentials},
		"wrong password": {Input{Username: "alice", Password: "wrong-pw"}, auth.ErrInvalidCredentials},
		"inactive user":  {Input{Username: "bob", Password: "secret-pw"}, auth.ErrAccountInactive},
		"success":        {Input{Username: "alice", Password: "secret-pw"}, nil},
	}
	for name, a := range attempts {
		t.Run(name, func(t *testing.T) {
			i, _, hasher, _ := setup(alice(true), bob)
			_, err := i.Execute(context.Background(), auth.Actor{}, a.in)
			if (a.want == nil) != (err == nil) || !errors.Is(err, a.want) {
				t.Fatalf("err = %v, want %v", err, a.want)
			}
			if hasher.verifies != 1 {
				t.Fatalf("%d verifications, want exactly 1", hasher.verifies)
			}
		})
	}
}

func TestUnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	i, _, _, _ := setup(alice(true))
	_, e1 := i.Execute(context.Background(), auth.Actor{}, Input{Username: "nobody", Password: "x"})
	_, e2 := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "x"})
	a1, _ := apperr.As(e1)
	a2, _ := apperr.As(e2)
	if a1 == nil || a2 == nil || a1 != a2 {
		t.Fatalf("different answers: %v / %v", e1, e2)
	}
}

func TestThrottlePerUsername(t *testing.T) {
	i, store, hasher, clk := setup(alice(true))
	ctx := context.Background()
	for n := range 5 {
		if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "wrong", ClientIP: "1.1.1.1"}); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", n+1, err)
		}
	}
	clk.now = t0.Add(5 * time.Minute)
	hasher.verifies = 0
	// The 6th attempt is refused even with the right password, without a hash.
	_, err := i.Execute(ctx, auth.Actor{}, Input{Username: "ALICE", Password: "secret-pw", ClientIP: "2.2.2.2"})
	e, ok := apperr.As(err)
	if !ok || !errors.Is(err, auth.ErrTooManyAttempts(0)) || e.RetryAfter != 10*time.Minute {
		t.Fatalf("6th attempt = %v (%+v), want too_many_attempts with 10m Retry-After", err, e)
	}
	if hasher.verifies != 0 || len(store.sessions) != 0 {
		t.Fatalf("throttled attempt verified %d times, %d sessions", hasher.verifies, len(store.sessions))
	}
	// After the window the right password works and clears the count.
	clk.now = t0.Add(15 * time.Minute)
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "2.2.2.2"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if store.failures["user:alice"] != 0 {
		t.Fatalf("count not cleared: %d", store.failures["user:alice"])
	}
}

func TestGoodLoginClearsCount(t *testing.T) {
	i, store, _, _ := setup(alice(true))
	ctx := context.Background()
	for range 4 {
		i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "wrong", ClientIP: "1.1.1.1"})
	}
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "1.1.1.1"}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "wrong", ClientIP: "1.1.1.1"})
	}
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "1.1.1.1"}); err != nil {
		t.Fatalf("count was not cleared by the good login: %v", err)
	}
	if store.failures["ip:1.1.1.1"] != 8 {
		t.Fatalf("ip failures = %d, want 8 (a good login clears only the username)", store.failures["ip:1.1.1.1"])
	}
}

func TestThrottlePerIP(t *testing.T) {
	i, store, _, _ := setup(alice(true))
	store.failures["ip:9.9.9.9"], store.starts["ip:9.9.9.9"] = 50, t0.Add(-time.Minute)
	_, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "9.9.9.9"})
	if !errors.Is(err, auth.ErrTooManyAttempts(0)) {
		t.Fatalf("err = %v, want too_many_attempts", err)
	}
	if _, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "8.8.8.8"}); err != nil {
		t.Fatalf("another IP: %v", err)
	}
}

func TestRehashOnLogin(t *testing.T) {
	old := alice(true)
	old.PasswordHash = "v1:secret-pw"
	i, store, _, _ := setup(old)
	res, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if store.rehashed != 1 || store.users["alice"].PasswordHash != "v2:secret-pw" || res.User.PasswordHash != "v2:secret-pw" {
		t.Fatalf("hash not upgraded: %+v", store.users["alice"])
	}
	if _, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw"}); err != nil || store.rehashed != 1 {
		t.Fatalf("a current hash was rehashed again: %v, %d", err, store.rehashed)
	}
}

func TestLoginRefusals(t *testing.T) {
	i, store, hasher, _ := setup(alice(true))
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{SessionID: []byte{1}}, Input{Username: "alice", Password: "secret-pw"}); !errors.Is(err, auth.ErrAlreadyAuthenticated) {
		t.Errorf("logged-in caller: %v", err)
	}
	_, err := i.Execute(ctx, auth.Actor{}, Input{})
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid || len(e.Fields) != 2 {
		t.Errorf("empty input: %v", err)
	}
	if hasher.verifies != 0 || len(store.sessions) != 0 || len(store.failures) != 0 {
		t.Errorf("refused attempts had effects: %d verifies, %d sessions, %v", hasher.verifies, len(store.sessions), store.failures)
	}
}

func TestOutcomesAreCounted(t *testing.T) {
	i, store, _, _ := setup(alice(true))
	ctx := context.Background()
	i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "secret-pw"})
	i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "wrong"})
	i.Execute(ctx, auth.Actor{}, Input{})
	if got := strings.Join(store.outcomes, ","); got != "success,invalid_credentials,validation_failed" {
		t.Fatalf("outcomes %s", got)
	}
}

// TestSessionLimitAndClient: a login records the client (User-Agent
// cleaned, IP), and one past the per-user limit ends the oldest session.
func TestSessionLimitAndClient(t *testing.T) {
	u := user.New("alice", "v2:password1", user.RoleUser, t0)
	i, store, _, clk := setup(u)
	for n := range 4 {
		clk.now = t0.Add(time.Duration(n) * time.Minute)
		if _, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "password1", ClientIP: "192.0.2.7", UserAgent: "Browser\r\n/1"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(store.sessions) != 3 || store.Ended(session.EndedByLimit) != 1 {
		t.Fatalf("%d sessions after 4 logins with a limit of 3, %d ended", len(store.sessions), store.Ended(session.EndedByLimit))
	}
	if !store.sessions[0].CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("the oldest session survived: %v", store.sessions[0].CreatedAt)
	}
	s := store.sessions[2]
	if s.UserAgent != "Browser/1" || s.IP != "192.0.2.7" || s.PublicID.IsNil() {
		t.Fatalf("session client: %q %q %v", s.UserAgent, s.IP, s.PublicID)
	}
}

// TestLoginEvents checks the event of every outcome: what is recorded, for
// whom, and that refusals before the password check record nothing.
func TestLoginEvents(t *testing.T) {
	ctx := audit.WithSource(context.Background(), audit.Source{IP: "10.0.0.9", UserAgent: "ua", RequestID: "r1"})
	active, inactive := alice(true), user.User{ID: user.NewID(), Username: "Bobby", PasswordHash: "v2:secret-pw", IsActive: false}
	tests := []struct {
		name           string
		in             Input
		actor          auth.Actor
		typ            audit.Type
		reason         string
		byUser, onUser bool
	}{
		{"success", Input{Username: "alice", Password: "secret-pw"}, auth.Actor{}, audit.LoginSucceeded, "", true, true},
		{"wrong password", Input{Username: "alice", Password: "nope-nope"}, auth.Actor{}, audit.LoginFailed, audit.ReasonWrongPassword, false, true},
		{"unknown user", Input{Username: "mallory", Password: "secret-pw"}, auth.Actor{}, audit.LoginFailed, audit.ReasonUnknownUser, false, false},
		{"inactive", Input{Username: "bobby", Password: "secret-pw"}, auth.Actor{}, audit.LoginFailed, audit.ReasonAccountInactive, false, true},
		{"missing password", Input{Username: "alice"}, auth.Actor{}, "", "", false, false},
		{"already logged in", Input{Username: "alice", Password: "secret-pw"}, auth.Actor{User: active, SessionID: []byte{1}}, "", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i, store, _, _ := setup(active, inactive)
			_, _ = i.Execute(ctx, tc.actor, tc.in)
			if tc.typ == "" {
				if len(store.Events) != 0 {
					t.Fatalf("a refused request recorded %+v", store.Events)
				}
				return
			}
			if len(store.Events) != 1 {
				t.Fatalf("events %+v, want one %s", store.Events, tc.typ)
			}
			e := store.Events[0]
			target := uuid.Nil
			if tc.onUser {
				target = map[bool]uuid.UUID{true: active.ID, false: inactive.ID}[tc.in.Username == "alice"]
			}
			actor := uuid.Nil
			if tc.byUser {
				actor = active.ID
			}
			if e.Type != tc.typ || e.Actor.ID != actor || e.Target.ID != target || e.OccurredAt != t0 ||
				e.IP != "10.0.0.9" || e.RequestID != "r1" || (tc.reason != "" && e.Details["reason"] != tc.reason) {
				t.Fatalf("event %+v, want %s by %v on %v (%s)", e, tc.typ, actor, target, tc.reason)
			}
			if strings.Contains(fmt.Sprint(e), "mallory") {
				t.Fatal("an unknown username was recorded")
			}
		})
	}
	// A throttled attempt records nothing.
	i, store, _, _ := setup(active)
	for range 5 {
		_, _ = i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "wrong-pw"})
	}
	n := len(store.Events)
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "secret-pw"}); err == nil {
		t.Fatal("the sixth attempt was not throttled")
	}
	if len(store.Events) != n {
		t.Fatalf("a 429 recorded %+v", store.Events[n:])
	}
}
