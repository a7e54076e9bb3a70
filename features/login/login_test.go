package login

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore is every port of the slice over maps.
type fakeStore struct {
	users    map[string]user.User // by lower-case name
	sessions []session.Session
	rehashed int
	outcomes []string
	factors  map[uuid.UUID]mfa.Factors
	pending  []session.Pending
	audittest.Trail
	authtest.Attempts
}

func (f *fakeStore) Factors(_ context.Context, userID uuid.UUID) (mfa.Factors, error) {
	return f.factors[userID], nil
}

func (f *fakeStore) InsertPendingLogin(_ context.Context, p session.Pending) error {
	f.pending = append(f.pending, p)
	return nil
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
	f := &fakeStore{users: map[string]user.User{}}
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
	u.SecondFactor = f.factors[u.ID].Any() // as the store's triggers keep it
	return u, nil
}

func (f *fakeStore) RehashPassword(_ context.Context, id uuid.UUID, old, hash string) (bool, error) {
	for k, u := range f.users {
		if u.ID == id && u.PasswordHash == old {
			u.PasswordHash = hash
			f.users[k] = u
			f.rehashed++
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeStore) InsertSessionIfCurrent(_ context.Context, s session.Session, hash string) (bool, error) {
	for _, u := range f.users {
		if u.ID == s.UserID && u.IsActive && u.PasswordHash == hash && (s.AAL >= 2 || !f.factors[u.ID].Any()) {
			f.sessions = append(f.sessions, s)
			return true, nil
		}
	}
	return false, nil
}

// fakeHasher "hashes" by prefixing and counts verifications; afterVerify,
// when set, runs between a verification and its answer (the window a
// racing change falls into).
type fakeHasher struct {
	verifies    int
	params      string
	afterVerify func()
}

func (h *fakeHasher) Verify(_ context.Context, encoded, password string) (bool, error) {
	h.verifies++
	if h.afterVerify != nil {
		h.afterVerify()
	}
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

var guard = auth.Guard{PerUser: 5, PerIP: 50, Window: 15 * time.Minute, Key: []byte("throttle key")}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func setup(users ...user.User) (*Interactor, *fakeStore, *fakeHasher, *clock) {
	store, hasher, clk := newFakeStore(users...), &fakeHasher{params: "v2"}, &clock{now: t0}
	return New(store, hasher, store, Config{SignIn: signin.Rules{Policy: policy, SessionsPerUser: 3}, Guard: guard, PendingTTL: 5 * time.Minute}, clk.Now), store, hasher, clk
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
	if n := store.Count(guard.UserKey("alice")); n != 0 {
		t.Fatalf("count not cleared: %d", n)
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
	if n := store.Count("ip:1.1.1.1"); n != 8 {
		t.Fatalf("ip failures = %d, want 8 (a good login clears only the username, and gives its own attempt back)", n)
	}
}

func TestThrottlePerIP(t *testing.T) {
	i, store, _, _ := setup(alice(true))
	store.Windows = map[string]authtest.Window{"ip:9.9.9.9": {Attempts: 50, Start: t0.Add(-time.Minute)}}
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
	if hasher.verifies != 0 || len(store.sessions) != 0 || len(store.Windows) != 0 {
		t.Errorf("refused attempts had effects: %d verifies, %d sessions, %v", hasher.verifies, len(store.sessions), store.Windows)
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

// TestPasswordChangedDuringLogin: a password set between the login's
// verification and its transaction (an admin's reset) wins: the login is
// a wrong password (401, counted, recorded), makes no session, and its
// rehash never writes the old password over the new one.
func TestPasswordChangedDuringLogin(t *testing.T) {
	for name, stored := range map[string]string{"current hash": "v2:secret-pw", "hash due for a rehash": "v1:secret-pw"} {
		t.Run(name, func(t *testing.T) {
			u := alice(true)
			u.PasswordHash = stored
			i, store, hasher, _ := setup(u)
			hasher.afterVerify = func() {
				v := store.users["alice"]
				v.PasswordHash = "v2:new-password"
				store.users["alice"] = v
			}
			_, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "1.1.1.1"})
			if !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("err = %v, want invalid_credentials", err)
			}
			if len(store.sessions) != 0 || store.users["alice"].PasswordHash != "v2:new-password" || store.rehashed != 0 {
				t.Fatalf("%d sessions, hash %q, %d rehashes", len(store.sessions), store.users["alice"].PasswordHash, store.rehashed)
			}
			if store.Count(guard.UserKey("alice")) != 1 || store.Count("ip:1.1.1.1") != 1 {
				t.Fatalf("the stale password was not counted as a failure: %v", store.Windows)
			}
			if got := store.Types(); len(got) != 1 || got[0] != audit.LoginFailed || store.Events[0].Details["reason"] != audit.ReasonWrongPassword {
				t.Fatalf("events %v", store.Events)
			}
		})
	}
}

// TestInactivatedDuringLogin: an inactivation between the verification
// and the transaction wins; the right password is not counted.
func TestInactivatedDuringLogin(t *testing.T) {
	i, store, hasher, _ := setup(alice(true))
	hasher.afterVerify = func() {
		v := store.users["alice"]
		v.IsActive = false
		store.users["alice"] = v
	}
	_, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "1.1.1.1"})
	if !errors.Is(err, auth.ErrAccountInactive) || len(store.sessions) != 0 {
		t.Fatalf("err = %v, %d sessions", err, len(store.sessions))
	}
	if store.Count(guard.UserKey("alice")) != 0 || store.Count("ip:1.1.1.1") != 0 {
		t.Fatalf("a right password stayed counted: %v", store.Windows)
	}
}

// TestTypedNamesAreNotStored: a username window's key is a keyed hash of
// the folded name; a name longer than any username (a password typed in
// the wrong field) is unknown at once and counted for the client only.
func TestTypedNamesAreNotStored(t *testing.T) {
	i, store, hasher, _ := setup(alice(true))
	ctx := context.Background()
	i.Execute(ctx, auth.Actor{}, Input{Username: "Alice", Password: "wrong", ClientIP: "1.1.1.1"})
	long := "my-long-secret-password!"
	_, err := i.Execute(ctx, auth.Actor{}, Input{Username: long, Password: "secret-pw", ClientIP: "1.1.1.1"})
	if !errors.Is(err, auth.ErrInvalidCredentials) || hasher.verifies != 2 {
		t.Fatalf("long name: %v after %d verifications, want invalid_credentials after 2", err, hasher.verifies)
	}
	if len(store.Windows) != 2 || store.Count(guard.UserKey("aLiCe")) != 1 || store.Count("ip:1.1.1.1") != 2 {
		t.Fatalf("windows %v", store.Windows)
	}
	for key := range store.Windows {
		if strings.Contains(strings.ToLower(key), "alice") || strings.Contains(key, long) {
			t.Fatalf("a typed name is stored: %q", key)
		}
	}
	other := auth.Guard{Key: []byte("another key")}
	if other.UserKey("alice") == guard.UserKey("alice") {
		t.Fatal("the key does not key the hash")
	}
}

// TestIPv6ClientsCountPerNetwork: every address of one /64 counts in the
// same window.
func TestIPv6ClientsCountPerNetwork(t *testing.T) {
	i, store, _, _ := setup(alice(true))
	store.Windows = map[string]authtest.Window{"ip:2001:db8:1:2::/64": {Attempts: 50, Start: t0}}
	_, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "2001:db8:1:2:aaaa::1"})
	if !errors.Is(err, auth.ErrTooManyAttempts(0)) {
		t.Fatalf("another address of the /64: %v", err)
	}
	if _, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "2001:db8:1:3::1"}); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

// TestSecondFactorMakesAPendingLogin: a user with a second factor gets a
// pending login (no session, nothing recorded yet, its own kind of
// secret), and the right password gives its attempt back without
// forgetting the wrong ones before it.
func TestSecondFactorMakesAPendingLogin(t *testing.T) {
	a := alice(true)
	i, store, _, clk := setup(a)
	store.factors = map[uuid.UUID]mfa.Factors{a.ID: {TOTPEnabledAt: t0, RecoveryCodesLeft: 10}}
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "wrong-pw", ClientIP: "10.0.0.1"}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	res, err := i.Execute(ctx, auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "10.0.0.1", UserAgent: "ua"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending == nil || len(store.sessions) != 0 || len(store.pending) != 1 || !session.IsPending(res.Secret) {
		t.Fatalf("result %+v, %d sessions, %d pending", res, len(store.sessions), len(store.pending))
	}
	if !slices.Equal(res.Methods, []string{mfa.MethodTOTP, mfa.MethodRecoveryCode}) {
		t.Fatalf("methods %v", res.Methods)
	}
	p := store.pending[0]
	id, _ := session.PendingIDFromSecret(res.Secret)
	if string(p.ID) != string(id) || p.UserID != a.ID || p.VerifiedHash != a.PasswordHash || !p.ExpiresAt.Equal(clk.now.Add(5*time.Minute)) || p.UserAgent != "ua" {
		t.Fatalf("pending %+v", p)
	}
	if n := store.Count(guard.UserKey("alice")); n != 1 {
		t.Fatalf("user window holds %d attempts, want the 1 wrong password", n)
	}
	if got := store.Types(); !slices.Equal(got, []audit.Type{audit.LoginFailed}) {
		t.Fatalf("events %v", got)
	}
	if store.outcomes[1] != "mfa_required" {
		t.Fatalf("outcomes %v", store.outcomes)
	}
}

// TestSecondFactorChangedDuringTheHash: the login ends as the account is
// when its transaction runs. A factor enrolled while the password was being
// verified gives a pending login, not a session made with the password
// alone; the last factor removed meanwhile gives a session. Either way the
// password was right: nothing counted, no failure recorded.
func TestSecondFactorChangedDuringTheHash(t *testing.T) {
	a := alice(true)
	for _, tc := range []struct {
		name          string
		before, after mfa.Factors
		wantPending   bool
	}{
		{"enrolled", mfa.Factors{}, mfa.Factors{TOTPEnabledAt: t0}, true},
		{"removed", mfa.Factors{Passkeys: 1}, mfa.Factors{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, store, h, _ := setup(a)
			store.factors = map[uuid.UUID]mfa.Factors{a.ID: tc.before}
			h.afterVerify = func() { store.factors[a.ID] = tc.after }
			res, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice", Password: "secret-pw", ClientIP: "10.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Pending != nil; got != tc.wantPending || len(store.sessions)+len(store.pending) != 1 {
				t.Fatalf("pending %v, want %v; %d sessions, %d pending", got, tc.wantPending, len(store.sessions), len(store.pending))
			}
			if n := store.Count(guard.UserKey("alice")); n != 0 {
				t.Fatalf("user window holds %d attempts", n)
			}
			if slices.Contains(store.Types(), audit.LoginFailed) {
				t.Fatalf("events %v", store.Types())
			}
		})
	}
}
