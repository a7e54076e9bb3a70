package createapikey

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore holds one user's password, factors and keys.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	hash    string
	factors mfa.Factors
	active  bool
	keys    []apikey.Key
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.hash, nil
}

func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) { return f.factors, nil }

func (f *fakeStore) LiveAPIKeys(_ context.Context, userID uuid.UUID, now time.Time) (int, error) {
	n := 0
	for _, k := range f.keys {
		if k.UserID == userID && !k.Expired(now) {
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) InsertAPIKey(_ context.Context, k apikey.Key) (bool, error) {
	if !f.active {
		return false, nil
	}
	f.keys = append(f.keys, k)
	return true, nil
}

// keys "hash" a secret as the id and the secret.
type keys struct{}

func (keys) HashAPIKey(id uuid.UUID, secret []byte) []byte { return append(id.Bytes(), secret...) }

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore, *authtest.Hasher, auth.Actor) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Email: "alice@example.com", EmailVerifiedAt: t0},
		SessionID: []byte{1}, Methods: []string{mfa.MethodPassword}}
	store := &fakeStore{hash: "hash:pw", active: true}
	hasher := &authtest.Hasher{}
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	return New(store, hasher, keys{}, store, Config{Guard: guard, MaxTTL: 365 * 24 * time.Hour}, func() time.Time { return t0 }), store, hasher, alice
}

func seconds(n int64) *int64 { return &n }

func valid() Input {
	return Input{Name: "deploy", Scope: "read", ExpiresIn: seconds(3600), CurrentPassword: "pw", ClientIP: "192.0.2.1"}
}

// TestCreate: the key is the caller's, stored as its hash, valid for the
// lifetime asked, with its event and a notice; the secret shown once is
// the stored key's.
func TestCreate(t *testing.T) {
	i, store, _, alice := setup()
	out, err := i.Execute(context.Background(), alice, valid())
	if err != nil {
		t.Fatal(err)
	}
	k := out.Key
	if len(store.keys) != 1 || store.keys[0].ID != k.ID || k.UserID != alice.User.ID || k.Name != "deploy" || k.Scope != apikey.ScopeRead ||
		!k.CreatedAt.Equal(t0) || !k.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("created %+v, stored %+v", k, store.keys)
	}
	id, secret, err := apikey.Parse(out.Secret)
	if err != nil || id != k.ID || !bytes.Equal(k.Hash, keys{}.HashAPIKey(id, secret)) {
		t.Fatalf("the key shown (%q) is not the one stored: %v", out.Secret, err)
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.APIKeyCreated}) {
		t.Fatalf("events %v", store.Types())
	}
	e := store.Events[0]
	if e.Actor.ID != alice.User.ID || e.Target.ID != alice.User.ID || e.Details["key"] != k.ID.String() || e.Details["scope"] != "read" || e.Details["name"] != "deploy" {
		t.Fatalf("event %+v", e)
	}
	if len(store.Messages) != 1 || store.Messages[0].Template != "api_key_created" || store.Messages[0].To != "alice@example.com" ||
		store.Messages[0].Fields["prefix"] != out.Secret[:apikey.PrefixLen] {
		t.Fatalf("notices %+v", store.Messages)
	}
	// No verified address, no notice.
	i, store, _, alice = setup()
	alice.User.EmailVerifiedAt = time.Time{}
	if _, err := i.Execute(context.Background(), alice, valid()); err != nil || len(store.Messages) != 0 {
		t.Fatalf("an unverified address: %v, %d notices", err, len(store.Messages))
	}
}

// TestCreateRefusals: nothing is created, mailed or recorded (but a wrong
// password) for a refused request; an invalid input or a key costs no
// verification.
func TestCreateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(a *auth.Actor, s *fakeStore, in *Input)
		want     error
		fields   []string
		verifies bool
	}{
		{"anonymous", func(a *auth.Actor, _ *fakeStore, _ *Input) { *a = auth.Actor{} }, auth.ErrNotAuthenticated, nil, false},
		{"an API key", func(a *auth.Actor, _ *fakeStore, _ *Input) { a.SessionID, a.APIKey = nil, uuid.Must(uuid.NewV4()) }, auth.ErrSessionRequired, nil, false},
		{"nothing given", func(_ *auth.Actor, _ *fakeStore, in *Input) { *in = Input{} }, apperr.ErrInvalid,
			[]string{"name", "scope", "expires_in", "current_password"}, false},
		{"a bad name and scope", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.Name, in.Scope = "a\nb", "write" }, apperr.ErrInvalid, []string{"name", "scope"}, false},
		{"expires_in under a minute", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.ExpiresIn = seconds(59) }, apperr.ErrInvalid, []string{"expires_in"}, false},
		{"expires_in past max_ttl", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.ExpiresIn = seconds(365*24*3600 + 1) }, apperr.ErrInvalid, []string{"expires_in"}, false},
		{"expires_in negative", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.ExpiresIn = seconds(-3600) }, apperr.ErrInvalid, []string{"expires_in"}, false},
		{"aal 1 with a second factor", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.factors = mfa.Factors{TOTPEnabledAt: t0} }, auth.ErrAAL2Required, nil, false},
		{"a wrong password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "nope" }, auth.ErrWrongPassword, nil, true},
		{"a password replaced meanwhile", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.hash = "hash:reset" }, auth.ErrWrongPassword, nil, true},
		{"inactivated meanwhile", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.active = false }, auth.ErrNotAuthenticated, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, store, hasher, alice := setup()
			in := valid()
			tc.change(&alice, store, &in)
			_, err := i.Execute(context.Background(), alice, in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.fields != nil {
				e, _ := apperr.As(err)
				var got []string
				for _, f := range e.Fields {
					got = append(got, f.Field)
				}
				if !slices.Equal(got, tc.fields) {
					t.Fatalf("fields %v, want %v", got, tc.fields)
				}
			}
			if len(store.keys) != 0 || len(store.Messages) != 0 {
				t.Fatalf("a refusal stored %d keys, sent %d notices", len(store.keys), len(store.Messages))
			}
			if (hasher.Verifies > 0) != tc.verifies {
				t.Fatalf("%d verifications, want some: %v", hasher.Verifies, tc.verifies)
			}
			wrong := tc.name == "a wrong password" // verified, and wrong: recorded
			if got := store.Types(); wrong != slices.Equal(got, []audit.Type{audit.ReauthenticationFailed}) || !wrong && len(got) != 0 {
				t.Fatalf("events %v", got)
			}
		})
	}
	// A session made with the second factor creates.
	i, store, _, alice := setup()
	store.factors = mfa.Factors{TOTPEnabledAt: t0}
	alice.Methods = []string{mfa.MethodPassword, mfa.MethodTOTP}
	if _, err := i.Execute(context.Background(), alice, valid()); err != nil {
		t.Fatalf("aal 2: %v", err)
	}
}

// TestWrongPasswordCounted: a wrong password counts in the user's and
// the client's windows and is recorded with this action; a right one
// clears the user's window.
func TestWrongPasswordCounted(t *testing.T) {
	i, store, _, alice := setup()
	in := valid()
	in.CurrentPassword = "nope"
	if _, err := i.Execute(context.Background(), alice, in); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatal(err)
	}
	if store.Count(i.cfg.Guard.UserKey("alice")) != 1 || store.Count(i.cfg.Guard.ClientLimit("192.0.2.1").Key) != 1 {
		t.Fatalf("windows %+v", store.Windows)
	}
	if e := store.Events[0]; e.Type != audit.ReauthenticationFailed || e.Details["action"] != Action {
		t.Fatalf("event %+v", e)
	}
	if _, err := i.Execute(context.Background(), alice, valid()); err != nil {
		t.Fatal(err)
	}
	if store.Count(i.cfg.Guard.UserKey("alice")) != 0 {
		t.Fatalf("the right password left the user's window at %d", store.Count(i.cfg.Guard.UserKey("alice")))
	}
}

// TestLimit: the 26th live key is refused, its right password given back;
// an expired key does not count. (Creations at once: see the HTTP tests,
// on both engines.)
func TestLimit(t *testing.T) {
	i, store, _, alice := setup()
	for n := range apikey.MaxPerUser {
		if _, err := i.Execute(context.Background(), alice, valid()); err != nil {
			t.Fatalf("key %d: %v", n+1, err)
		}
	}
	if _, err := i.Execute(context.Background(), alice, valid()); !errors.Is(err, apikey.ErrLimit) {
		t.Fatalf("the 26th key: %v", err)
	}
	if len(store.keys) != apikey.MaxPerUser {
		t.Fatalf("%d keys stored", len(store.keys))
	}
	if n := store.Count(i.cfg.Guard.ClientLimit("192.0.2.1").Key); n != 0 {
		t.Fatalf("refusals for the limit left %d attempts counted", n)
	}
	store.keys[0].ExpiresAt = t0
	if _, err := i.Execute(context.Background(), alice, valid()); err != nil {
		t.Fatalf("with an expired key among 25: %v", err)
	}
}
