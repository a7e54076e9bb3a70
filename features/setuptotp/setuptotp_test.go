package setuptotp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	hash    string // the user's stored password hash
	enabled bool
	sealed  []byte
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.hash, nil
}

func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	if f.enabled {
		return mfa.Factors{TOTPEnabledAt: t0}, nil
	}
	return mfa.Factors{}, nil
}

func (f *fakeStore) SetUpTOTP(_ context.Context, _ uuid.UUID, sealed []byte, _ time.Time) (bool, error) {
	if f.enabled {
		return false, nil
	}
	f.sealed = sealed
	return true, nil
}

type keys struct{}

func (keys) Seal(_ uuid.UUID, secret string) []byte { return []byte("sealed:" + secret) }

type apps struct{}

func (apps) NewSecret(account string) (string, string, error) {
	return "SECRET", "otpauth://totp/x:" + account + "?secret=SECRET", nil
}

var (
	t0    = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	guard = auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
)

func TestSetUp(t *testing.T) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw-alice"}, SessionID: []byte{1}}
	store, h := &fakeStore{hash: "hash:pw-alice"}, &authtest.Hasher{}
	i := New(store, h, keys{}, apps{}, guard, func() time.Time { return t0 })
	ctx := context.Background()
	if _, err := i.Execute(ctx, alice, Input{CurrentPassword: "wrong"}); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if store.sealed != nil || store.Events[0].Type != audit.ReauthenticationFailed || store.Events[0].Details["action"] != Action {
		t.Fatalf("a wrong password: sealed %q, events %v", store.sealed, store.Types())
	}
	res, err := i.Execute(ctx, alice, Input{CurrentPassword: "pw-alice"})
	if err != nil || res.Secret != "SECRET" || !strings.Contains(res.URI, "alice") || string(store.sealed) != "sealed:SECRET" {
		t.Fatalf("setup: %+v %v, stored %q", res, err, store.sealed)
	}
	if n := store.Count(guard.UserKey("alice")); n != 0 {
		t.Fatalf("user window %d after the right password", n)
	}
	// A password changed since the request was authenticated wins.
	store.hash = "hash:new"
	if _, err := i.Execute(ctx, alice, Input{CurrentPassword: "pw-alice"}); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("a replaced password: %v", err)
	}
	// An enabled app is refused before the password costs a try.
	store.enabled, h.Verifies = true, 0
	if _, err := i.Execute(ctx, alice, Input{CurrentPassword: "pw-alice"}); !errors.Is(err, mfa.ErrTOTPAlreadyEnabled) || h.Verifies != 0 {
		t.Fatalf("enabled: %v after %d verifications", err, h.Verifies)
	}
}
