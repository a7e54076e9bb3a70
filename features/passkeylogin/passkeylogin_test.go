package passkeylogin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore holds one account with one passkey, and the ceremonies.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	alice      user.User
	handle     []byte
	key        mfa.Passkey
	ceremonies map[string]mfa.Ceremony
	sessions   []session.Session

	deleted   bool   // alice's account is gone
	racingUse bool   // another sign-in uses the key first
	hashNow   string // alice's password hash once the answer verified
	fault     error  // reading the handle fails
}

func (f *fakeStore) InsertCeremony(_ context.Context, c mfa.Ceremony) error {
	f.ceremonies[string(c.ID)] = c
	return nil
}

func (f *fakeStore) TakeCeremony(_ context.Context, id []byte) (mfa.Ceremony, error) {
	c, ok := f.ceremonies[string(id)]
	if !ok {
		return mfa.Ceremony{}, mfa.ErrChallengeExpired
	}
	delete(f.ceremonies, string(id))
	return c, nil
}

func (f *fakeStore) UserIDByHandle(_ context.Context, h []byte) (uuid.UUID, error) {
	if f.fault != nil {
		return uuid.Nil, f.fault
	}
	if string(h) != string(f.handle) {
		return uuid.Nil, mfa.ErrInvalidCredential
	}
	return f.alice.ID, nil
}

func (f *fakeStore) UserByID(context.Context, uuid.UUID) (user.User, error) {
	if f.deleted {
		return user.User{}, user.ErrNotFound
	}
	return f.alice, nil
}

func (f *fakeStore) Passkeys(context.Context, uuid.UUID) ([]mfa.Passkey, error) {
	return []mfa.Passkey{f.key}, nil
}

func (f *fakeStore) UsePasskey(_ context.Context, p mfa.Passkey, old uint32, _ time.Time) (bool, error) {
	if f.racingUse || f.key.SignCount != old {
		return false, nil
	}
	f.key = p
	return true, nil
}

func (f *fakeStore) InsertSessionIfCurrent(_ context.Context, s session.Session, hash string) (bool, error) {
	if !f.alice.IsActive || hash != cmp.Or(f.hashNow, f.alice.PasswordHash) {
		return false, nil
	}
	f.sessions = append(f.sessions, s)
	return true, nil
}

func (f *fakeStore) DeleteOldestSessions(context.Context, uuid.UUID, int) (int, error) { return 0, nil }

// fakeRP: an answer is the JSON {"ceremony","handle","key","count","forged"};
// it verifies when it names the ceremony's challenge and one of the
// account's keys and is not forged.
type fakeRP struct{}

type fakeAnswer struct {
	Ceremony string `json:"ceremony"`
	Handle   string `json:"handle"`
	Key      string `json:"key"`
	Count    uint32 `json:"count"`
	Forged   bool   `json:"forged"` // a signature that does not verify
}

func (fakeRP) BeginPasskey() (json.RawMessage, mfa.Ceremony, error) {
	return json.RawMessage(`{"publicKey":{}}`), mfa.Ceremony{ID: mfa.CeremonyID("challenge"), Purpose: mfa.CeremonyPasskey}, nil
}

func (fakeRP) CeremonyOf(credential []byte) ([]byte, error) {
	var a fakeAnswer
	if json.Unmarshal(credential, &a) != nil || a.Ceremony == "" {
		return nil, mfa.ErrInvalidCredential
	}
	return mfa.CeremonyID(a.Ceremony), nil
}

func (fakeRP) UserHandle(credential []byte) ([]byte, error) {
	var a fakeAnswer
	json.Unmarshal(credential, &a)
	if a.Handle == "" {
		return nil, mfa.ErrInvalidCredential
	}
	return []byte(a.Handle), nil
}

func (fakeRP) CredentialID(credential []byte) ([]byte, error) {
	var a fakeAnswer
	json.Unmarshal(credential, &a)
	return []byte(a.Key), nil
}

func (fakeRP) FinishPasskey(acct mfa.Account, _ mfa.Ceremony, credential []byte) (mfa.Passkey, error) {
	var a fakeAnswer
	json.Unmarshal(credential, &a)
	p, ok := acct.Passkey([]byte(a.Key))
	if !ok || a.Forged {
		return mfa.Passkey{}, mfa.ErrInvalidCredential
	}
	if a.Count <= p.SignCount {
		return mfa.Passkey{}, mfa.ErrClonedCredential
	}
	p.SignCount = a.Count
	return p, nil
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore, *time.Time) {
	alice := user.User{ID: user.NewID(), Username: "alice", PasswordHash: "h", IsActive: true}
	store := &fakeStore{alice: alice, handle: []byte("handle"), key: mfa.Passkey{ID: []byte("k"), PublicID: uuid.Must(uuid.NewV7()), SignCount: 5},
		ceremonies: map[string]mfa.Ceremony{}}
	now := t0
	rules := signin.Rules{Policy: session.Policy{TTL: time.Hour, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}, SessionsPerUser: 50}
	return New(store, fakeRP{}, rules, auth.CeremonyLimit{PerIP: 5, Window: time.Hour}, func() time.Time { return now }), store, &now
}

func TestPasswordless(t *testing.T) {
	i, store, now := setup()
	ctx := context.Background()
	if _, err := i.Begin(ctx, auth.Actor{}, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if c := store.ceremonies[string(mfa.CeremonyID("challenge"))]; !c.ExpiresAt.Equal(t0.Add(mfa.CeremonyTTL)) || !c.UserID.IsNil() {
		t.Fatalf("ceremony %+v", c)
	}
	right := json.RawMessage(`{"ceremony":"challenge","handle":"handle","key":"k","count":6}`)
	res, err := i.Execute(ctx, auth.Actor{}, Input{Credential: right})
	if err != nil || res.Session.AAL != 2 || !slices.Equal(res.Session.Methods, []string{"webauthn"}) || store.key.SignCount != 6 {
		t.Fatalf("sign-in: %+v, %v", res.Session, err)
	}
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Credential: right}); !errors.Is(err, mfa.ErrChallengeExpired) {
		t.Fatalf("a replay: %v", err)
	}
	i.Begin(ctx, auth.Actor{}, "192.0.2.1")
	*now = t0.Add(mfa.CeremonyTTL)
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Credential: right}); !errors.Is(err, mfa.ErrChallengeExpired) {
		t.Fatalf("expired: %v", err)
	}
	if len(store.sessions) != 1 {
		t.Fatalf("%d sessions", len(store.sessions))
	}
}

func TestPasswordlessRefusals(t *testing.T) {
	i, store, _ := setup()
	ctx := context.Background()
	i.Begin(ctx, auth.Actor{}, "192.0.2.1")
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Credential: json.RawMessage(`{"ceremony":"challenge","handle":"handle","key":"k","count":3}`)}); !errors.Is(err, mfa.ErrInvalidCredential) {
		t.Fatalf("a counter gone back: %v", err)
	}
	if e := store.Events[0]; e.Type != audit.LoginFailed || e.Details["reason"] != audit.ReasonClonedCredential || e.Target.ID != store.alice.ID {
		t.Fatalf("the clone was not recorded: %+v", store.Events)
	}
	i.Begin(ctx, auth.Actor{}, "192.0.2.1")
	store.alice.IsActive = false
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Credential: json.RawMessage(`{"ceremony":"challenge","handle":"handle","key":"k","count":9}`)}); !errors.Is(err, auth.ErrAccountInactive) {
		t.Fatalf("inactive: %v", err)
	}
	if _, err := i.Execute(ctx, auth.Actor{User: store.alice, SessionID: []byte{1}}, Input{}); !errors.Is(err, auth.ErrAlreadyAuthenticated) {
		t.Fatalf("logged in: %v", err)
	}
	if _, err := i.Execute(ctx, auth.Actor{}, Input{}); !errors.Is(err, mfa.ErrInvalidCredential) {
		t.Fatalf("no credential: %v", err)
	}
	if len(store.sessions) != 0 || store.key.SignCount != 5 {
		t.Fatal("a refused sign-in changed something")
	}
}

// TestEveryRefusedSignInIsRecorded: each refusal of an answer to a
// ceremony of ours is one login.failed (reason invalid_credential, or
// cloned_credential, or account_inactive), against the account only when
// the answer's credential is one of its own; what answers no ceremony of
// ours, and faults, record nothing.
func TestEveryRefusedSignInIsRecorded(t *testing.T) {
	for _, c := range []struct {
		name    string
		answer  string
		prepare func(f *fakeStore)
		want    error
		reason  string // "": nothing recorded
		target  bool   // recorded against alice
	}{
		{"no user handle", `{"key":"k","count":9}`, nil, mfa.ErrInvalidCredential, "invalid_credential", false},
		{"an unknown user handle", `{"handle":"other","key":"k","count":9}`, nil, mfa.ErrInvalidCredential, "invalid_credential", false},
		{"an account deleted", `{"handle":"handle","key":"k","count":9}`, func(f *fakeStore) { f.deleted = true }, mfa.ErrInvalidCredential, "invalid_credential", false},
		{"a credential not of the account", `{"handle":"handle","key":"other","count":9}`, nil, mfa.ErrInvalidCredential, "invalid_credential", false},
		{"the account's credential, forged", `{"handle":"handle","key":"k","count":9,"forged":true}`, nil, mfa.ErrInvalidCredential, "invalid_credential", true},
		{"a counter gone back", `{"handle":"handle","key":"k","count":5}`, nil, mfa.ErrInvalidCredential, "cloned_credential", true},
		{"an inactive account", `{"handle":"handle","key":"k","count":9}`, func(f *fakeStore) { f.alice.IsActive = false }, auth.ErrAccountInactive, "account_inactive", true},
		{"the key used meanwhile", `{"handle":"handle","key":"k","count":9}`, func(f *fakeStore) { f.racingUse = true }, mfa.ErrInvalidCredential, "invalid_credential", true},
		{"the password changed meanwhile", `{"handle":"handle","key":"k","count":9}`, func(f *fakeStore) { f.hashNow = "new" }, mfa.ErrInvalidCredential, "invalid_credential", true},
		{"a fault", `{"handle":"handle","key":"k","count":9}`, func(f *fakeStore) { f.fault = errors.New("connection refused") }, nil, "", false},
		{"no ceremony named", `{"handle":"handle","key":"k","count":9,"ceremony":""}`, nil, mfa.ErrInvalidCredential, "", false},
		{"an unknown or used ceremony", `{"handle":"handle","key":"k","count":9,"ceremony":"other"}`, nil, mfa.ErrChallengeExpired, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			i, store, _ := setup()
			ctx := context.Background()
			if _, err := i.Begin(ctx, auth.Actor{}, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			if c.prepare != nil {
				c.prepare(store)
			}
			var a map[string]any
			json.Unmarshal([]byte(c.answer), &a)
			if _, ok := a["ceremony"]; !ok {
				a["ceremony"] = "challenge"
			}
			answer, _ := json.Marshal(a)
			_, err := i.Execute(ctx, auth.Actor{}, Input{Credential: answer})
			switch {
			case c.want == nil && (err == nil || errors.Is(err, mfa.ErrInvalidCredential)):
				t.Fatalf("a fault became %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if len(store.sessions) != 0 {
				t.Fatal("a refused sign-in started a session")
			}
			if c.reason == "" {
				if len(store.Events) != 0 {
					t.Fatalf("recorded %+v, want nothing", store.Events)
				}
				return
			}
			if len(store.Events) != 1 {
				t.Fatalf("recorded %+v, want one event", store.Events)
			}
			e := store.Events[0]
			if e.Type != audit.LoginFailed || e.Details["reason"] != c.reason || !e.Actor.ID.IsNil() || (e.Target.ID == store.alice.ID) != c.target || (!c.target && !e.Target.ID.IsNil()) {
				t.Fatalf("recorded %+v, want login.failed %s against alice: %v", e, c.reason, c.target)
			}
		})
	}
}

// TestCeremoniesPerClient: a client begins at most the limit of
// ceremonies per window.
func TestCeremoniesPerClient(t *testing.T) {
	i, _, _ := setup()
	ctx := context.Background()
	for k := range 5 {
		if _, err := i.Begin(ctx, auth.Actor{}, "2001:db8::1"); err != nil {
			t.Fatalf("begin %d: %v", k, err)
		}
	}
	if _, err := i.Begin(ctx, auth.Actor{}, "2001:db8::2"); !errors.Is(err, auth.ErrTooManyAttempts(0)) {
		t.Fatalf("a sixth from the same /64: %v", err)
	}
	if _, err := i.Begin(ctx, auth.Actor{}, "192.0.2.9"); err != nil {
		t.Fatalf("another client: %v", err)
	}
}
