package regeneratecodes

import (
	"context"
	"errors"
	"slices"
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
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore holds one user's factors and stored codes.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	hash     string
	factors  mfa.Factors
	codes    []mfa.StoredCode
	replaced int
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.hash, nil
}

func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) { return f.factors, nil }

func (f *fakeStore) ReplaceRecoveryCodes(_ context.Context, _ uuid.UUID, codes []mfa.StoredCode, _ time.Time) error {
	f.codes, f.replaced = codes, f.replaced+1
	return nil
}

// keys "seal" a code as its user and the code itself.
type keys struct{}

func (keys) SealRecoveryCode(userID uuid.UUID, code string) mfa.StoredCode {
	return mfa.StoredCode{Digest: []byte(userID.String() + code)}
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore, *authtest.Hasher, auth.Actor) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Email: "alice@example.com", EmailVerifiedAt: t0},
		SessionID: []byte{1}, Methods: []string{mfa.MethodPassword, mfa.MethodTOTP}}
	store := &fakeStore{hash: "hash:pw", factors: mfa.Factors{TOTPEnabledAt: t0, RecoveryCodesLeft: 3}}
	hasher := &authtest.Hasher{}
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	return New(store, store, hasher, keys{}, guard, func() time.Time { return t0 }), store, hasher, alice
}

// TestRegenerate: a new set replaces the old, stored as the keys make it,
// with its event and a notice.
func TestRegenerate(t *testing.T) {
	i, store, _, alice := setup()
	codes, err := i.Execute(context.Background(), alice, Input{CurrentPassword: "pw"})
	if err != nil || len(codes) != mfa.RecoveryCodes || len(store.codes) != mfa.RecoveryCodes || store.replaced != 1 {
		t.Fatalf("regenerate: %d codes, %d stored, %v", len(codes), len(store.codes), err)
	}
	n, _ := mfa.NormalizeRecoveryCode(codes[0])
	if string(store.codes[0].Digest) != alice.User.ID.String()+n {
		t.Fatalf("stored %q for %q: not the keys' seal of the normalized code", store.codes[0].Digest, codes[0])
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.RecoveryCodesGenerated}) || store.Events[0].Details["count"] != mfa.RecoveryCodes {
		t.Fatalf("events %+v", store.Events)
	}
	if len(store.Messages) != 1 || store.Messages[0].Template != "second_factor_changed" {
		t.Fatalf("notices %+v", store.Messages)
	}
}

func TestRegenerateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(a *auth.Actor, s *fakeStore, in *Input)
		want     error
		verifies bool
	}{
		{"anonymous", func(a *auth.Actor, _ *fakeStore, _ *Input) { *a = auth.Actor{} }, auth.ErrNotAuthenticated, false},
		{"no password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "" }, apperr.ErrInvalid, false},
		{"no second factor", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.factors = mfa.Factors{RecoveryCodesLeft: 3} }, mfa.ErrNoSecondFactor, false},
		{"aal 1", func(a *auth.Actor, _ *fakeStore, _ *Input) { a.Methods = []string{mfa.MethodPassword} }, auth.ErrAAL2Required, false},
		{"a wrong password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "nope" }, auth.ErrWrongPassword, true},
		{"a password replaced meanwhile", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.hash = "hash:reset" }, auth.ErrWrongPassword, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, store, hasher, alice := setup()
			in := Input{CurrentPassword: "pw"}
			tc.change(&alice, store, &in)
			if _, err := i.Execute(context.Background(), alice, in); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if store.replaced != 0 || len(store.Messages) != 0 {
				t.Fatalf("a refusal replaced the codes (%d) or sent %d notices", store.replaced, len(store.Messages))
			}
			if (hasher.Verifies > 0) != tc.verifies {
				t.Fatalf("%d verifications, want some: %v", hasher.Verifies, tc.verifies)
			}
		})
	}
}
