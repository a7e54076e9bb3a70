package loginmfa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// fakeStore is every port of the slice over maps; a failed transaction
// puts them back as they were.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	users    map[uuid.UUID]user.User
	pending  map[string]session.Pending
	totp     map[uuid.UUID]mfa.TOTP
	codes    map[string]bool // user id + digest
	sessions []session.Session
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	pending, totp, codes, sessions := maps.Clone(f.pending), maps.Clone(f.totp), maps.Clone(f.codes), slices.Clone(f.sessions)
	err := f.Trail.WithinTx(ctx, fn)
	if err != nil {
		f.pending, f.totp, f.codes, f.sessions = pending, totp, codes, sessions
	}
	return err
}

func (f *fakeStore) CountPendingAttempt(_ context.Context, id []byte, now time.Time, max int) (session.Pending, error) {
	p, ok := f.pending[string(id)]
	if !ok || !now.Before(p.ExpiresAt) || p.Attempts >= max {
		return session.Pending{}, session.ErrNotFound
	}
	p.Attempts++
	f.pending[string(id)] = p
	return p, nil
}

func (f *fakeStore) PendingLogin(_ context.Context, id []byte, now time.Time) (session.Pending, error) {
	p, ok := f.pending[string(id)]
	if !ok || !now.Before(p.ExpiresAt) {
		return session.Pending{}, session.ErrNotFound
	}
	return p, nil
}

// The passkey ports: these tests use codes (passkeys are tested on real
// stores with a software authenticator, and in Chromium).
func (f *fakeStore) WebAuthnHandle(context.Context, uuid.UUID) ([]byte, error) {
	return []byte("h"), nil
}
func (f *fakeStore) Passkeys(context.Context, uuid.UUID) ([]mfa.Passkey, error) { return nil, nil }
func (f *fakeStore) InsertCeremony(context.Context, mfa.Ceremony) error         { return nil }
func (f *fakeStore) TakeCeremony(context.Context, []byte) (mfa.Ceremony, error) {
	return mfa.Ceremony{}, mfa.ErrChallengeExpired
}
func (f *fakeStore) UsePasskey(context.Context, mfa.Passkey, uint32, time.Time) (bool, error) {
	return false, nil
}

type noPasskeys struct{}

func (noPasskeys) BeginLogin(mfa.Account) (json.RawMessage, mfa.Ceremony, error) {
	return nil, mfa.Ceremony{}, errors.New("no passkeys here")
}
func (noPasskeys) FinishLogin(mfa.Account, mfa.Ceremony, []byte) (mfa.Passkey, error) {
	return mfa.Passkey{}, mfa.ErrInvalidCredential
}
func (noPasskeys) CeremonyOf([]byte) ([]byte, error) { return []byte("c"), nil }

func (f *fakeStore) DeletePendingLogin(_ context.Context, id []byte) (bool, error) {
	_, ok := f.pending[string(id)]
	delete(f.pending, string(id))
	return ok, nil
}

func (f *fakeStore) UserByID(_ context.Context, id uuid.UUID) (user.User, error) {
	u, ok := f.users[id]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) TOTP(_ context.Context, userID uuid.UUID) (mfa.TOTP, bool, error) {
	t, ok := f.totp[userID]
	return t, ok, nil
}

func (f *fakeStore) AcceptTOTPStep(_ context.Context, userID uuid.UUID, step int64, resealed []byte) (bool, error) {
	t, ok := f.totp[userID]
	if !ok || !t.Enabled() || t.LastStep >= step {
		return false, nil
	}
	t.LastStep = step
	if resealed != nil {
		t.Sealed = resealed
	}
	f.totp[userID] = t
	return true, nil
}

func (f *fakeStore) UseRecoveryCode(_ context.Context, userID uuid.UUID, digests [][]byte) (bool, error) {
	for _, d := range digests {
		if k := userID.String() + string(d); f.codes[k] {
			delete(f.codes, k)
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeStore) Factors(_ context.Context, userID uuid.UUID) (mfa.Factors, error) {
	n := 0
	for k := range f.codes {
		if strings.HasPrefix(k, userID.String()) {
			n++
		}
	}
	return mfa.Factors{TOTPEnabledAt: f.totp[userID].EnabledAt, RecoveryCodesLeft: n}, nil
}

func (f *fakeStore) InsertSessionIfCurrent(_ context.Context, s session.Session, hash string) (bool, error) {
	if u := f.users[s.UserID]; !u.IsActive || u.PasswordHash != hash {
		return false, nil
	}
	f.sessions = append(f.sessions, s)
	return true, nil
}

func (f *fakeStore) DeleteOldestSessions(context.Context, uuid.UUID, int) (int, error) { return 0, nil }

// fakeKeys seal by prefixing: "old:" is a previous key's.
type fakeKeys struct{}

func (fakeKeys) Seal(_ uuid.UUID, secret string) []byte { return []byte("new:" + secret) }

func (fakeKeys) Open(_ uuid.UUID, sealed []byte) (string, bool, error) {
	key, secret, _ := strings.Cut(string(sealed), ":")
	if key != "new" && key != "old" {
		return "", false, errors.New("unopenable")
	}
	return secret, key == "old", nil
}

func (fakeKeys) RecoveryDigests(code string) [][]byte { return [][]byte{[]byte("d:" + code)} }

// fakeCodes is an authenticator whose code of a step is the step's last
// six digits, whatever the secret: enough to test the window and replays.
type fakeCodes struct{}

func (fakeCodes) MatchStep(_, code string, now time.Time) (int64, bool) {
	for s := step(now) - 1; s <= step(now)+1; s++ {
		if codeOf(s) == code {
			return s, true
		}
	}
	return 0, false
}

func step(t time.Time) int64    { return t.Unix() / 30 }
func codeOf(s int64) string     { return fmt.Sprintf("%06d", s%1_000_000) }
func codeAt(t time.Time) string { return codeOf(step(t)) }

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

var (
	t0     = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	guard  = auth.Guard{PerUser: 7, PerIP: 50, Window: 15 * time.Minute, Key: []byte("k")}
	policy = session.Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}
)

// setup returns the interactor and alice, with an enabled authenticator
// (last step: one before t0's), recovery code "abcde-fghjk", and a pending
// login whose secret is returned.
func setup(t *testing.T) (*Interactor, *fakeStore, *clock, user.User, string) {
	t.Helper()
	alice := user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash-1", Role: user.RoleUser, IsActive: true}
	store := &fakeStore{users: map[uuid.UUID]user.User{alice.ID: alice}, pending: map[string]session.Pending{},
		totp:  map[uuid.UUID]mfa.TOTP{alice.ID: {Sealed: []byte("old:SECRET"), EnabledAt: t0.Add(-time.Hour), LastStep: step(t0) - 2}},
		codes: map[string]bool{alice.ID.String() + "d:abcdefghjk": true}}
	clk := &clock{now: t0}
	secret := store.addPending(alice)
	cfg := Config{SignIn: signin.Rules{Policy: policy, SessionsPerUser: 50}, Guard: guard, Ceremonies: auth.CeremonyLimit{PerIP: 50, Window: time.Hour}}
	return New(store, fakeKeys{}, fakeCodes{}, noPasskeys{}, cfg, clk.Now), store, clk, alice, secret
}

func (f *fakeStore) addPending(u user.User) string {
	return f.addPendingWith(u, mfa.MethodPassword)
}

// addPendingWith adds a pending login whose first step was method.
func (f *fakeStore) addPendingWith(u user.User, method string) string {
	secret, id := session.NewPendingSecret()
	f.pending[string(id)] = session.Pending{ID: id, UserID: u.ID, VerifiedHash: u.PasswordHash, Method: method, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	return secret
}

// TestSecondStepAfterAProvider: a pending login begun by a sign-in
// through an identity provider ends in a session of both methods.
func TestSecondStepAfterAProvider(t *testing.T) {
	i, store, _, alice, _ := setup(t)
	secret := store.addPendingWith(alice, mfa.MethodOIDC)
	res, err := i.Finish(context.Background(), auth.Actor{}, Input{Secret: secret, Code: codeAt(t0)})
	if err != nil || res.Session.AAL != 2 || !slices.Equal(res.Session.Methods, []string{"oidc", "totp"}) {
		t.Fatalf("session %+v, %v", res.Session, err)
	}
}

func TestRightCodeStartsAStrongSession(t *testing.T) {
	i, store, _, alice, secret := setup(t)
	store.ReserveAttempts(context.Background(), t0, guard.Window, []auth.Limit{{Key: guard.UserKey("alice"), Max: 7}}) // an earlier wrong password
	res, err := i.Finish(context.Background(), auth.Actor{}, Input{Secret: secret, Code: codeAt(t0), ClientIP: "192.0.2.1", UserAgent: "ua"})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Session
	if res.User.ID != alice.ID || len(store.sessions) != 1 || s.AAL != 2 || !slices.Equal(s.Methods, []string{"password", "totp"}) || s.IP != "192.0.2.1" {
		t.Fatalf("result %+v, sessions %d", res, len(store.sessions))
	}
	if id, _ := session.IDFromSecret(res.Secret); string(id) != string(s.ID) || strings.HasPrefix(res.Secret, "mfa.") {
		t.Fatal("the session's secret is not a new session secret")
	}
	if len(store.pending) != 0 || store.Count(guard.UserKey("alice")) != 0 {
		t.Fatalf("pending %d, user window %d", len(store.pending), store.Count(guard.UserKey("alice")))
	}
	if got := store.totp[alice.ID]; got.LastStep != step(t0) || string(got.Sealed) != "new:SECRET" {
		t.Fatalf("totp after: %+v (the step is recorded, the old key's seal replaced)", got)
	}
	if e := store.Events[0]; e.Type != audit.LoginSucceeded || fmt.Sprint(e.Details["methods"]) != "[password totp]" {
		t.Fatalf("event %+v", e)
	}
}

// TestTOTPWindowAndReplay: codes of one step either side are accepted;
// a code is good once, and never for a step at or before the last one.
func TestTOTPWindowAndReplay(t *testing.T) {
	i, store, clk, alice, secret := setup(t)
	ctx := context.Background()
	try := func(code string) error {
		_, err := i.Finish(ctx, auth.Actor{}, Input{Secret: secret, Code: code, ClientIP: "192.0.2.1"})
		return err
	}
	if err := try(codeOf(step(t0) + 2)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("two steps ahead: %v", err)
	}
	if err := try(codeOf(step(t0) - 2)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("the last accepted step: %v", err)
	}
	if err := try(codeOf(step(t0) - 1)); err != nil {
		t.Fatalf("one step behind: %v", err)
	}
	secret = store.addPending(alice)
	if err := try(codeOf(step(t0) - 1)); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("the same code again: %v", err)
	}
	clk.now = t0.Add(30 * time.Second) // the app's next code
	if err := try(codeAt(clk.now)); err != nil {
		t.Fatalf("the next code: %v", err)
	}
	if n := store.Count(guard.UserKey("alice")); n != 0 {
		t.Fatalf("user window %d after a success", n)
	}
	var failed int
	for _, e := range store.Events {
		if e.Type == audit.LoginFailed && e.Details["reason"] == audit.ReasonWrongCode && e.Target.ID == alice.ID && e.Actor.ID.IsNil() {
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("%d login.failed wrong_code events, want 3", failed)
	}
}

// TestWrongCodesCount: each wrong code stays counted in the user's login
// window; the fifth ends the pending login; a full window refuses before
// any code is checked.
func TestWrongCodesCount(t *testing.T) {
	i, store, _, _, secret := setup(t)
	ctx := context.Background()
	for k := 1; k <= mfa.MaxCodeAttempts; k++ {
		if _, err := i.Finish(ctx, auth.Actor{}, Input{Secret: secret, Code: "000000"}); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", k, err)
		}
	}
	if len(store.pending) != 0 || store.Count(guard.UserKey("alice")) != mfa.MaxCodeAttempts {
		t.Fatalf("pending %d, window %d", len(store.pending), store.Count(guard.UserKey("alice")))
	}
	if _, err := i.Finish(ctx, auth.Actor{}, Input{Secret: secret, Code: codeAt(t0)}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("after the fifth: %v", err)
	}
	alice := store.users[store.totpUser()]
	for range 2 {
		s := store.addPending(alice)
		i.Finish(ctx, auth.Actor{}, Input{Secret: s, Code: "000000"})
	}
	_, err := i.Finish(ctx, auth.Actor{}, Input{Secret: store.addPending(alice), Code: codeAt(t0)})
	if e, ok := apperr.As(err); !ok || e.Code != "too_many_attempts" {
		t.Fatalf("a full window: %v", err)
	}
}

func (f *fakeStore) totpUser() uuid.UUID {
	for id := range f.totp {
		return id
	}
	return uuid.Nil
}

func TestRecoveryCodeOnce(t *testing.T) {
	i, store, _, alice, secret := setup(t)
	ctx := context.Background()
	res, err := i.Finish(ctx, auth.Actor{}, Input{Secret: secret, RecoveryCode: " ABCDE FGHJK "})
	if err != nil || !slices.Equal(res.Session.Methods, []string{"password", "recovery_code"}) {
		t.Fatalf("recovery code: %+v %v", res.Session, err)
	}
	if left := store.Events[0].Details["recovery_codes_left"]; left != 0 {
		t.Fatalf("recovery_codes_left %v", left)
	}
	if _, err := i.Finish(ctx, auth.Actor{}, Input{Secret: store.addPending(alice), RecoveryCode: "abcde-fghjk"}); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("the code again: %v", err)
	}
}

// TestAccountChangedSinceThePassword: a password changed (or the user
// inactivated) after the first step ends the pending login, whatever the
// code.
func TestAccountChangedSinceThePassword(t *testing.T) {
	i, store, _, alice, secret := setup(t)
	alice.PasswordHash = "hash-2"
	store.users[alice.ID] = alice
	if _, err := i.Finish(context.Background(), auth.Actor{}, Input{Secret: secret, Code: codeAt(t0)}); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("err %v", err)
	}
	if len(store.pending) != 0 || len(store.sessions) != 0 || store.totp[alice.ID].LastStep == step(t0) {
		t.Fatal("the refused step changed something")
	}
}

func TestRefusedBeforeAnyCheck(t *testing.T) {
	i, store, _, alice, secret := setup(t)
	ctx := context.Background()
	for name, c := range map[string]struct {
		actor auth.Actor
		in    Input
		want  error
	}{
		"logged in":               {auth.Actor{User: alice, SessionID: []byte{1}}, Input{Secret: secret, Code: "1"}, auth.ErrAlreadyAuthenticated},
		"no cookie":               {auth.Actor{}, Input{Code: "123456"}, auth.ErrNotAuthenticated},
		"a session's":             {auth.Actor{}, Input{Secret: strings.TrimPrefix(secret, "mfa."), Code: "123456"}, auth.ErrNotAuthenticated},
		"no code":                 {auth.Actor{}, Input{Secret: secret}, apperr.ErrInvalid},
		"both codes":              {auth.Actor{}, Input{Secret: secret, Code: "123456", RecoveryCode: "abcde-fghjk"}, apperr.ErrInvalid},
		"a code and a credential": {auth.Actor{}, Input{Secret: secret, Code: "123456", Credential: json.RawMessage(`{}`)}, apperr.ErrInvalid},
		"unknown login":           {auth.Actor{}, Input{Secret: "mfa." + strings.Repeat("A", 43), Code: "123456"}, auth.ErrNotAuthenticated},
	} {
		if _, err := i.Finish(ctx, c.actor, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if p := store.pending; len(p) != 1 || slices.Collect(maps.Values(p))[0].Attempts != 0 || len(store.Events) != 0 {
		t.Fatal("a refused request counted or recorded something")
	}
}
