package oauthcallback

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore is the accounts, identities and flows, in memory; it knows
// whether a transaction is open.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	inTx     bool
	flows    map[string]identity.Flow
	ids      []identity.Identity
	users    map[uuid.UUID]user.User
	factors  map[uuid.UUID]mfa.Factors
	sessions []session.Session
	pending  []session.Pending
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.inTx = true
	defer func() { f.inTx = false }()
	return f.Trail.WithinTx(ctx, fn)
}

func (f *fakeStore) TakeFlow(_ context.Context, hash []byte, now time.Time) (identity.Flow, error) {
	fl, ok := f.flows[string(hash)]
	delete(f.flows, string(hash))
	if !ok || !now.Before(fl.ExpiresAt) {
		return identity.Flow{}, identity.ErrStateInvalid
	}
	return fl, nil
}

func (f *fakeStore) IdentityBySubject(_ context.Context, issuer, subject string) (identity.Identity, error) {
	for _, i := range f.ids {
		if i.Issuer == issuer && i.Subject == subject {
			return i, nil
		}
	}
	return identity.Identity{}, identity.ErrIdentityNotFound
}

func (f *fakeStore) InsertIdentity(ctx context.Context, i identity.Identity) error {
	if _, err := f.IdentityBySubject(ctx, i.Issuer, i.Subject); err == nil {
		return identity.ErrIdentityInUse
	}
	f.ids = append(f.ids, i)
	return nil
}

func (f *fakeStore) UseIdentity(context.Context, uuid.UUID, string, time.Time) error { return nil }

func (f *fakeStore) UserByID(_ context.Context, id uuid.UUID) (user.User, error) {
	if u, ok := f.users[id]; ok {
		return u, nil
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) UserByIDForUpdate(ctx context.Context, id uuid.UUID) (user.User, error) {
	if !f.inTx {
		return user.User{}, errors.New("a row lock outside a transaction")
	}
	return f.UserByID(ctx, id)
}

func (f *fakeStore) UserByEmail(_ context.Context, email string) (user.User, error) {
	for _, u := range f.users {
		if strings.EqualFold(u.Email, email) && u.EmailVerified() {
			return u, nil
		}
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (user.User, error) {
	for _, u := range f.users {
		if strings.EqualFold(u.Username, name) {
			return u, nil
		}
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) EmailClaimed(_ context.Context, email string) (bool, error) {
	for _, u := range f.users {
		if strings.EqualFold(u.Email, email) && !u.EmailVerified() {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeStore) InsertUser(_ context.Context, u user.User) error {
	f.users[u.ID] = u
	return nil
}

func (f *fakeStore) Factors(_ context.Context, id uuid.UUID) (mfa.Factors, error) {
	return f.factors[id], nil
}

func (f *fakeStore) InsertPendingLogin(_ context.Context, p session.Pending) error {
	f.pending = append(f.pending, p)
	return nil
}

func (f *fakeStore) InsertSessionIfCurrent(_ context.Context, s session.Session, hash string) (bool, error) {
	u := f.users[s.UserID]
	if !u.IsActive || u.PasswordHash != hash {
		return false, nil
	}
	f.sessions = append(f.sessions, s)
	return true, nil
}

func (f *fakeStore) DeleteOldestSessions(context.Context, uuid.UUID, int) (int, error) { return 0, nil }

func (f *fakeStore) SetEmailVerified(_ context.Context, id uuid.UUID, _ string, now time.Time) error {
	u := f.users[id]
	u.EmailVerifiedAt = now
	f.users[id] = u
	return nil
}

func (f *fakeStore) ClearEmailClaims(context.Context, string, uuid.UUID, time.Time) ([]uuid.UUID, error) {
	return nil, nil
}

func (f *fakeStore) VoidTokens(context.Context, uuid.UUID, time.Time) error { return nil }

// fakeProviders is one provider whose token exchange answers claims (or
// err) and must never be called inside a transaction.
type fakeProviders struct {
	t      *testing.T
	store  *fakeStore
	p      identity.Provider
	claims identity.Claims
	err    error
	state  string   // the last flow's, as its authorization URL carried it
	got    []string // the verifier and nonce of the last exchange
}

func (f *fakeProviders) Provider(id string) (identity.Provider, bool) { return f.p, id == f.p.ID }

func (f *fakeProviders) Exchange(_ context.Context, _, _, verifier, nonce string) (identity.Claims, error) {
	if f.store.inTx {
		f.t.Error("the code was exchanged inside a transaction")
	}
	f.got = []string{verifier, nonce}
	return f.claims, f.err
}

func (f *fakeProviders) AuthURL(_ context.Context, _ string, s identity.Secrets) (string, error) {
	f.state = s.State
	return "https://idp.example.com/authorize", nil
}

type sealer struct{}

func (sealer) Seal(id uuid.UUID, s string) []byte { return []byte(id.String() + s) }
func (sealer) Open(id uuid.UUID, b []byte) (string, bool, error) {
	return strings.TrimPrefix(string(b), id.String()), false, nil
}

type outcomes struct{ got []string }

func (o *outcomes) OAuthSignIn(provider, result string) { o.got = append(o.got, provider+" "+result) }

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

var guard = auth.Guard{PerUser: 5, PerIP: 50, Window: 15 * time.Minute, Key: []byte("k")}

// setup is an interactor over a store with alice (a verified address),
// and a flow begun for her provider; it returns the flow's secrets.
func setup(t *testing.T, p identity.Provider, claims identity.Claims) (*Interactor, *fakeStore, *fakeProviders, *outcomes, user.User, identity.Started) {
	t.Helper()
	alice := user.New("alice", "hash", user.RoleUser, t0)
	alice.Email, alice.EmailVerifiedAt = "alice@example.com", t0
	store := &fakeStore{flows: map[string]identity.Flow{}, users: map[uuid.UUID]user.User{alice.ID: alice}, factors: map[uuid.UUID]mfa.Factors{}}
	providers := &fakeProviders{t: t, store: store, p: p, claims: claims}
	flows := identity.Flows{Sealer: sealer{}}
	started, err := flows.Begin(context.Background(), providers, p.ID, identity.PurposeSignIn, uuid.Nil, "/back", t0)
	if err != nil {
		t.Fatal(err)
	}
	store.flows[string(started.Flow.StateHash)] = started.Flow
	o := &outcomes{}
	cfg := Config{SignIn: signin.Rules{Policy: session.Policy{TTL: time.Hour, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}, SessionsPerUser: 50},
		Guard: guard, Flows: flows, PendingTTL: 5 * time.Minute, Log: slog.New(slog.DiscardHandler)}
	return New(store, providers, store, o, cfg, func() time.Time { return t0.Add(time.Minute) }), store, providers, o, alice, started
}

// TestCallbackOutcomes: what each callback ends in, where the browser
// goes, what is recorded and against whom, and what stays counted in the
// client's login window; the code is never exchanged in a transaction.
func TestCallbackOutcomes(t *testing.T) {
	trusted := identity.Provider{ID: "corp", Name: "Corp", AllowSignup: true, TrustEmail: true, LinkByEmail: identity.LinkVerified}
	never := identity.Provider{ID: "corp", Name: "Corp", AllowSignup: true}
	for _, c := range []struct {
		name     string
		p        identity.Provider
		claims   identity.Claims
		err      error // the exchange's
		prepare  func(*fakeStore, user.User, *Input)
		location string // "" : the session's return_to
		reason   string // login.failed's, "" none
		target   func(user.User) uuid.UUID
		counted  int // left in the client's window
		result   string
	}{
		{name: "a new identity signs up", p: trusted, claims: identity.Claims{Issuer: "i", Subject: "new", Email: "new@example.com", EmailVerified: true, Name: "new person"},
			location: "/back", result: "signed_up"},
		{name: "a known identity signs in", p: never, claims: identity.Claims{Issuer: "i", Subject: "known"},
			prepare: func(f *fakeStore, u user.User, _ *Input) {
				f.ids = append(f.ids, identity.Identity{ID: uuid.Must(uuid.NewV7()), UserID: u.ID, Issuer: "i", Subject: "known"})
			}, location: "/back", result: "signed_in"},
		{name: "a trusted verified address links", p: trusted, claims: identity.Claims{Issuer: "i", Subject: "s", Email: "ALICE@example.com", EmailVerified: true},
			location: "/back", result: "linked"},
		{name: "with a second factor: a pending login", p: trusted, claims: identity.Claims{Issuer: "i", Subject: "s", Email: "alice@example.com", EmailVerified: true},
			prepare:  func(f *fakeStore, u user.User, _ *Input) { f.factors[u.ID] = mfa.Factors{Passkeys: 1} },
			location: "/back#mfa_required", result: "mfa_required"},
		{name: "link_by_email never: refused against the account", p: never, claims: identity.Claims{Issuer: "i", Subject: "s", Email: "alice@example.com", EmailVerified: true},
			location: "/back#error=identity_account_exists", reason: audit.ReasonIdentityConflict, target: func(u user.User) uuid.UUID { return u.ID }, counted: 1, result: "identity_account_exists"},
		{name: "an inactive account", p: trusted, claims: identity.Claims{Issuer: "i", Subject: "s", Email: "alice@example.com", EmailVerified: true},
			prepare:  func(f *fakeStore, u user.User, _ *Input) { u.IsActive = false; f.users[u.ID] = u },
			location: "/back#error=account_inactive", reason: audit.ReasonAccountInactive, target: func(u user.User) uuid.UUID { return u.ID }, counted: 1, result: "account_inactive"},
		{name: "the ID token does not verify", p: trusted, err: identity.ErrIDTokenInvalid,
			location: "/back#error=id_token_invalid", reason: audit.ReasonIDTokenInvalid, counted: 1, result: "id_token_invalid"},
		{name: "the provider fails", p: trusted, err: identity.ErrProvider,
			location: "/back#error=provider_error", reason: audit.ReasonProviderError, counted: 1, result: "provider_error"},
		{name: "the user cancelled", p: trusted, prepare: func(_ *fakeStore, _ user.User, in *Input) { in.Error, in.Code = "access_denied", "" },
			location: "/back#error=provider_error", reason: audit.ReasonProviderError, counted: 1, result: "provider_error"},
		{name: "another browser", p: trusted, prepare: func(_ *fakeStore, _ user.User, in *Input) { in.Binding = "another browser's" },
			location: "/back#error=oauth_state_invalid", reason: audit.ReasonOAuthStateInvalid, counted: 1, result: "oauth_state_invalid"},
		{name: "no such state", p: trusted, prepare: func(_ *fakeStore, _ user.User, in *Input) { in.State = "forged" },
			location: "/#error=oauth_state_invalid", reason: audit.ReasonOAuthStateInvalid, counted: 1, result: "oauth_state_invalid"},
		{name: "no signup", p: identity.Provider{ID: "corp"}, claims: identity.Claims{Issuer: "i", Subject: "new"},
			location: "/back#error=signup_disabled", reason: "signup_disabled", counted: 1, result: "signup_disabled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			i, store, providers, o, alice, started := setup(t, c.p, c.claims)
			providers.err = c.err
			// The provider's answer, in the browser that began the flow.
			in := Input{Provider: "corp", State: providers.state, Code: "the-code", Binding: started.Binding, ClientIP: "192.0.2.1"}
			if c.prepare != nil {
				c.prepare(store, alice, &in)
			}
			res, err := i.Execute(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Location != c.location {
				t.Fatalf("to %q, want %q", res.Location, c.location)
			}
			var failed []audit.Event
			for _, e := range store.Events {
				if e.Type == audit.LoginFailed {
					failed = append(failed, e)
				}
			}
			switch {
			case c.reason == "" && len(failed) > 0:
				t.Fatalf("recorded %+v", failed)
			case c.reason != "" && (len(failed) != 1 || failed[0].Details["reason"] != c.reason):
				t.Fatalf("recorded %+v, want reason %s", failed, c.reason)
			case c.target != nil && failed[0].Target.ID != c.target(alice):
				t.Fatalf("recorded against %s", failed[0].Target.ID)
			}
			if n := store.Count("ip:192.0.2.1"); n != c.counted {
				t.Fatalf("%d left in the login window, want %d", n, c.counted)
			}
			if !slices.Equal(o.got, []string{"corp " + c.result}) {
				t.Fatalf("counted %v", o.got)
			}
			signedIn := res.Session != nil || res.Pending != nil
			spent := len(store.flows) == 0 // the flow named is spent, whatever comes of it
			if signedIn != (c.reason == "") || spent != (in.State == providers.state) {
				t.Fatalf("session %v, pending %v, flows left %d", res.Session, res.Pending, len(store.flows))
			}
			if res.Session != nil && !slices.Equal(res.Session.Methods, []string{mfa.MethodOIDC}) {
				t.Fatalf("methods %v", res.Session.Methods)
			}
			if res.Pending != nil && res.Pending.Method != mfa.MethodOIDC {
				t.Fatalf("pending %+v", res.Pending)
			}
			if c.err == nil && c.result != "oauth_state_invalid" && c.result != "provider_error" && (providers.got == nil || providers.got[1] != started.Flow.Nonce) {
				t.Fatalf("exchanged with %v", providers.got)
			}
		})
	}
}

// TestThrottled: a full login window refuses a callback before its state
// is spent.
func TestThrottled(t *testing.T) {
	i, store, _, _, _, _ := setup(t, identity.Provider{ID: "corp"}, identity.Claims{})
	for range guard.PerIP {
		store.ReserveAttempts(context.Background(), t0, guard.Window, []auth.Limit{guard.ClientLimit("192.0.2.1")})
	}
	_, err := i.Execute(context.Background(), Input{Provider: "corp", State: "x", Binding: "b", ClientIP: "192.0.2.1"})
	if !errors.Is(err, auth.ErrTooManyAttempts(0)) || len(store.flows) != 1 {
		t.Fatalf("%v; flows %d", err, len(store.flows))
	}
}

// TestNoBindingCookie: a callback without the binding cookie was not begun
// in this browser (a page elsewhere loading callback URLs, say): refused
// before anything is spent, counted or recorded.
func TestNoBindingCookie(t *testing.T) {
	i, store, _, _, _, _ := setup(t, identity.Provider{ID: "corp"}, identity.Claims{})
	res, err := i.Execute(context.Background(), Input{Provider: "corp", State: "x", Code: "c", ClientIP: "192.0.2.1"})
	if err != nil || !strings.HasSuffix(res.Location, "#error=oauth_state_invalid") {
		t.Fatalf("%+v, %v", res, err)
	}
	if len(store.flows) != 1 || store.Count(guard.ClientLimit("192.0.2.1").Key) != 0 || len(store.Events) != 0 {
		t.Fatalf("flows %d, window %d, events %d: something was spent, counted or recorded", len(store.flows), store.Count(guard.ClientLimit("192.0.2.1").Key), len(store.Events))
	}
}
