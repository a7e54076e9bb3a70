package removepasskey

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

// fakeStore holds one user's passkeys and recovery codes, and records
// what the slice does to them.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	hash  string
	keys  []mfa.Passkey
	totp  bool
	codes int
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.hash, nil
}

func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	var enabled time.Time
	if f.totp {
		enabled = t0
	}
	return mfa.Factors{TOTPEnabledAt: enabled, Passkeys: len(f.keys), RecoveryCodesLeft: f.codes}, nil
}

func (f *fakeStore) Passkeys(context.Context, uuid.UUID) ([]mfa.Passkey, error) { return f.keys, nil }

func (f *fakeStore) DeletePasskey(_ context.Context, _, id uuid.UUID) error {
	f.keys = slices.DeleteFunc(f.keys, func(p mfa.Passkey) bool { return p.PublicID == id })
	return nil
}

func (f *fakeStore) DeleteRecoveryCodes(context.Context, uuid.UUID) (int, error) {
	n := f.codes
	f.codes = 0
	return n, nil
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func setup(keys int, totp bool) (*Interactor, *fakeStore, *authtest.Hasher, auth.Actor) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Email: "alice@example.com", EmailVerifiedAt: t0},
		SessionID: []byte{1}, Methods: []string{mfa.MethodPassword, mfa.MethodWebAuthn}}
	store := &fakeStore{hash: "hash:pw", totp: totp, codes: 10}
	for range keys {
		store.keys = append(store.keys, mfa.Passkey{PublicID: uuid.Must(uuid.NewV7()), UserID: alice.User.ID})
	}
	hasher := &authtest.Hasher{}
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	return New(store, store, hasher, guard, func() time.Time { return t0 }), store, hasher, alice
}

// TestRemove: the passkey goes, with its event and a notice; the recovery
// codes stay while another factor does, and go with the last one.
func TestRemove(t *testing.T) {
	i, store, _, alice := setup(2, false)
	ctx := context.Background()
	first, second := store.keys[0].PublicID, store.keys[1].PublicID
	if err := i.Execute(ctx, alice, Input{ID: first.String(), CurrentPassword: "pw"}); err != nil {
		t.Fatal(err)
	}
	if len(store.keys) != 1 || store.keys[0].PublicID != second || store.codes != 10 {
		t.Fatalf("after the first: %d passkeys, %d codes; want the other passkey and the codes", len(store.keys), store.codes)
	}
	if err := i.Execute(ctx, alice, Input{ID: second.String(), CurrentPassword: "pw"}); err != nil {
		t.Fatal(err)
	}
	if len(store.keys) != 0 || store.codes != 0 {
		t.Fatalf("after the last: %d passkeys, %d codes; the codes go with the last factor", len(store.keys), store.codes)
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.WebAuthnRemoved, audit.WebAuthnRemoved}) || store.Events[0].Details["passkey"] != first.String() {
		t.Fatalf("events %+v", store.Events)
	}
	if len(store.Messages) != 2 || store.Messages[0].Template != "second_factor_changed" {
		t.Fatalf("notices %+v: one per removal", store.Messages)
	}
}

// TestRemoveKeepsCodesWithTOTP: with an authenticator app left, the codes
// stay when the last passkey goes.
func TestRemoveKeepsCodesWithTOTP(t *testing.T) {
	i, store, _, alice := setup(1, true)
	if err := i.Execute(context.Background(), alice, Input{ID: store.keys[0].PublicID.String(), CurrentPassword: "pw"}); err != nil {
		t.Fatal(err)
	}
	if store.codes != 10 {
		t.Fatalf("%d codes left; the app still stands behind them", store.codes)
	}
}

func TestRemoveRefusals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		change   func(a *auth.Actor, s *fakeStore, in *Input)
		want     error
		verifies bool
	}{
		{"anonymous", func(a *auth.Actor, _ *fakeStore, _ *Input) { *a = auth.Actor{} }, auth.ErrNotAuthenticated, false},
		{"not an id", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.ID = "nope" }, apperr.ErrInvalid, false},
		{"no password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "" }, apperr.ErrInvalid, false},
		{"another user's or none", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.ID = uuid.Must(uuid.NewV7()).String() }, mfa.ErrPasskeyNotFound, false},
		{"a wrong password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "nope" }, auth.ErrWrongPassword, true},
		{"a password replaced meanwhile", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.hash = "hash:reset" }, auth.ErrWrongPassword, true},
		{"aal 1", func(a *auth.Actor, _ *fakeStore, _ *Input) { a.Methods = []string{mfa.MethodPassword} }, auth.ErrAAL2Required, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, store, hasher, alice := setup(1, false)
			in := Input{ID: store.keys[0].PublicID.String(), CurrentPassword: "pw"}
			tc.change(&alice, store, &in)
			if err := i.Execute(ctx, alice, in); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(store.keys) != 1 || store.codes != 10 || len(store.Messages) != 0 {
				t.Fatalf("a refusal changed something: %d passkeys, %d codes, %d notices", len(store.keys), store.codes, len(store.Messages))
			}
			for _, e := range store.Events {
				if e.Type != audit.ReauthenticationFailed || e.Details["action"] != Action {
					t.Fatalf("events %+v: at most the wrong password's", store.Events)
				}
			}
			if (hasher.Verifies > 0) != tc.verifies {
				t.Fatalf("%d verifications, want some: %v (refusals before the password cost no try)", hasher.Verifies, tc.verifies)
			}
		})
	}
}
