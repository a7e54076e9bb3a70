package disabletotp

import (
	"context"
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
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	totp  bool
	codes int
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == "hash:pw", nil
}

func (f *fakeStore) DeleteTOTP(context.Context, uuid.UUID) (bool, error) {
	had := f.totp
	f.totp = false
	return had, nil
}

func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	return mfa.Factors{RecoveryCodesLeft: f.codes}, nil
}

func (f *fakeStore) DeleteRecoveryCodes(context.Context, uuid.UUID) (int, error) {
	n := f.codes
	f.codes = 0
	return n, nil
}

func TestDisable(t *testing.T) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Email: "alice@example.com", EmailVerifiedAt: time.Unix(1, 0)}, SessionID: []byte{1}}
	store := &fakeStore{totp: true, codes: 4}
	guard := auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
	i := New(store, store, &authtest.Hasher{}, guard, time.Now)
	ctx := context.Background()
	if err := i.Execute(ctx, alice, Input{CurrentPassword: "nope"}); !errors.Is(err, auth.ErrWrongPassword) || !store.totp {
		t.Fatalf("wrong password: %v", err)
	}
	if err := i.Execute(ctx, alice, Input{CurrentPassword: "pw"}); err != nil {
		t.Fatal(err)
	}
	if store.totp || store.codes != 0 {
		t.Fatalf("after: %+v (the codes go with the last factor)", store)
	}
	if err := i.Execute(ctx, alice, Input{CurrentPassword: "pw"}); err != nil {
		t.Fatalf("again: %v", err)
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.ReauthenticationFailed, audit.TOTPDisabled}) {
		t.Fatalf("events %v: the second disable changed nothing and records nothing", store.Types())
	}
	if len(store.Messages) != 1 || store.Messages[0].Template != "second_factor_changed" || store.Messages[0].To != "alice@example.com" {
		t.Fatalf("notices %+v: one, for the one change", store.Messages)
	}
}
