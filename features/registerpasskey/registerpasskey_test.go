package registerpasskey

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	ceremonies map[string]mfa.Ceremony
	keys       []mfa.Passkey
	codes      int
	sessions   int // the user's live sessions
}

func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	n := f.sessions
	f.sessions = 0
	return n, nil
}

func (f *fakeStore) InsertSession(context.Context, session.Session) error {
	f.sessions++
	return nil
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == "hash:pw", nil
}
func (f *fakeStore) WebAuthnHandle(context.Context, uuid.UUID) ([]byte, error) {
	return []byte("handle"), nil
}
func (f *fakeStore) Passkeys(context.Context, uuid.UUID) ([]mfa.Passkey, error) { return f.keys, nil }
func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	return mfa.Factors{Passkeys: len(f.keys), RecoveryCodesLeft: f.codes}, nil
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
func (f *fakeStore) InsertPasskey(_ context.Context, p mfa.Passkey) error {
	f.keys = append(f.keys, p)
	return nil
}
func (f *fakeStore) ReplaceRecoveryCodes(_ context.Context, _ uuid.UUID, d []mfa.StoredCode, _ time.Time) error {
	f.codes = len(d)
	return nil
}

// fakeRP: each begin's challenge is "c<n>"; an answer is {"ceremony"}.
type fakeRP struct{ n *int }

func (r fakeRP) BeginRegistration(mfa.Account) (json.RawMessage, mfa.Ceremony, error) {
	*r.n++
	ch := "c" + strings.Repeat("x", *r.n)
	return json.RawMessage(`{"publicKey":{"challenge":"` + ch + `"}}`), mfa.Ceremony{ID: mfa.CeremonyID(ch), Purpose: mfa.CeremonyRegister}, nil
}
func (fakeRP) CeremonyOf(credential []byte) ([]byte, error) {
	var a struct{ Ceremony string }
	if json.Unmarshal(credential, &a) != nil || a.Ceremony == "" {
		return nil, mfa.ErrInvalidCredential
	}
	return mfa.CeremonyID(a.Ceremony), nil
}
func (fakeRP) FinishRegistration(_ mfa.Account, c mfa.Ceremony, _ []byte) (mfa.Passkey, error) {
	return mfa.Passkey{ID: c.ID, Record: []byte("{}")}, nil
}

type keys struct{}

func (keys) SealRecoveryCode(_ uuid.UUID, code string) mfa.StoredCode {
	return mfa.StoredCode{Digest: []byte(code)}
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func TestRegister(t *testing.T) {
	store, n := &fakeStore{ceremonies: map[string]mfa.Ceremony{}, sessions: 3}, 0
	now := t0
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	signIn := signin.Rules{Policy: session.Policy{TTL: time.Hour, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}}
	i := New(store, store, &authtest.Hasher{}, fakeRP{&n}, keys{}, Config{Guard: guard, SignIn: signIn}, func() time.Time { return now })
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Email: "alice@example.com", EmailVerifiedAt: t0}, SessionID: []byte{1}}
	bob := auth.Actor{User: user.User{ID: user.NewID(), Username: "bob", PasswordHash: "hash:pw"}, SessionID: []byte{2}, Methods: []string{mfa.MethodPassword, mfa.MethodTOTP}}
	ctx := context.Background()
	if _, err := i.Begin(ctx, alice, BeginInput{CurrentPassword: "wrong"}); !errors.Is(err, auth.ErrWrongPassword) || len(store.ceremonies) != 0 {
		t.Fatalf("wrong password: %v", err)
	}
	i.Begin(ctx, alice, BeginInput{CurrentPassword: "pw"})
	res, err := i.Finish(ctx, alice, FinishInput{Name: " Laptop ", Credential: json.RawMessage(`{"ceremony":"cx"}`)})
	if err != nil || res.Passkey.Name != "Laptop" || res.Passkey.UserID != alice.User.ID || len(res.RecoveryCodes) != 10 || store.codes != 10 {
		t.Fatalf("first passkey: %+v, %v", res, err)
	}
	// The first factor ends every session; the caller's new one is aal 2.
	if !res.First() || res.Session.AAL != mfa.AAL2 || store.sessions != 1 || store.Ended(session.EndedByEnrollment) != 3 {
		t.Fatalf("first passkey's session %+v, %d stored, %d ended", res.Session, store.sessions, store.Ended(session.EndedByEnrollment))
	}
	// With a factor, a password-only session manages none (auth's
	// assurance rule); the session the enrollment gives is at aal 2.
	if _, err := i.Begin(ctx, alice, BeginInput{CurrentPassword: "pw"}); !errors.Is(err, auth.ErrAAL2Required) {
		t.Fatalf("aal 1 with a passkey: %v", err)
	}
	alice.Methods = []string{mfa.MethodPassword, mfa.MethodWebAuthn}
	i.Begin(ctx, alice, BeginInput{CurrentPassword: "pw"})
	if res, err := i.Finish(ctx, alice, FinishInput{Name: "Key", Credential: json.RawMessage(`{"ceremony":"cxx"}`)}); err != nil || res.RecoveryCodes != nil {
		t.Fatalf("second passkey: %+v, %v", res, err)
	}
	if want := []audit.Type{audit.ReauthenticationFailed, audit.WebAuthnAdded, audit.RecoveryCodesGenerated, audit.SessionEnded, audit.WebAuthnAdded}; !slices.Equal(store.Types(), want) {
		t.Fatalf("events %v", store.Types())
	}
	// Another user's ceremony, an expired one, a used one, bad names.
	i.Begin(ctx, bob, BeginInput{CurrentPassword: "pw"})
	if _, err := i.Finish(ctx, alice, FinishInput{Name: "x", Credential: json.RawMessage(`{"ceremony":"cxxx"}`)}); !errors.Is(err, mfa.ErrInvalidRegistration) {
		t.Fatalf("bob's ceremony: %v", err)
	}
	i.Begin(ctx, alice, BeginInput{CurrentPassword: "pw"})
	now = t0.Add(mfa.CeremonyTTL)
	if _, err := i.Finish(ctx, alice, FinishInput{Name: "x", Credential: json.RawMessage(`{"ceremony":"cxxxx"}`)}); !errors.Is(err, mfa.ErrRegistrationExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := i.Finish(ctx, alice, FinishInput{Name: "x", Credential: json.RawMessage(`{"ceremony":"cxxxx"}`)}); !errors.Is(err, mfa.ErrRegistrationExpired) {
		t.Fatalf("used: %v", err)
	}
	for _, name := range []string{"", "   ", strings.Repeat("n", mfa.MaxPasskeyName+1), "a\x00b", "Laptop\u202egpj.exe"} {
		if _, err := i.Finish(ctx, alice, FinishInput{Name: name, Credential: json.RawMessage(`{}`)}); !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if len(store.keys) != 2 {
		t.Fatalf("%d passkeys", len(store.keys))
	}
	if len(store.Messages) != 2 || store.Messages[0].Fields["what"] != `a passkey named "Laptop" was added` {
		t.Fatalf("notices %+v: one a passkey added", store.Messages)
	}
}
