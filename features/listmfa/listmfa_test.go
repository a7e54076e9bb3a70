package listmfa

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore keeps factors and passkeys by user id and records the calls
// made to it.
type fakeStore struct {
	factors     map[uuid.UUID]mfa.Factors
	passkeys    map[uuid.UUID][]mfa.Passkey
	calls       []string
	factorsErr  error
	passkeysErr error
}

func (f *fakeStore) Factors(_ context.Context, userID uuid.UUID) (mfa.Factors, error) {
	f.calls = append(f.calls, "factors")
	return f.factors[userID], f.factorsErr
}

func (f *fakeStore) Passkeys(_ context.Context, userID uuid.UUID) ([]mfa.Passkey, error) {
	f.calls = append(f.calls, "passkeys")
	return f.passkeys[userID], f.passkeysErr
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func passkey(owner uuid.UUID, name string) mfa.Passkey {
	return mfa.Passkey{ID: []byte(name), PublicID: user.NewID(), UserID: owner, Name: name, CreatedAt: t0}
}

// setup returns a store holding another user's factors and passkey, and
// alice, with none yet, as a logged-in actor.
func setup() (*fakeStore, auth.Actor) {
	alice, bob := user.NewID(), user.NewID()
	f := &fakeStore{
		factors:  map[uuid.UUID]mfa.Factors{bob: {TOTPEnabledAt: t0, Passkeys: 1, RecoveryCodesLeft: 9}},
		passkeys: map[uuid.UUID][]mfa.Passkey{bob: {passkey(bob, "bob's key")}},
	}
	return f, auth.Actor{User: user.User{ID: alice, Username: "alice"}, SessionID: []byte{1}}
}

func TestList(t *testing.T) {
	tests := []struct {
		why      string
		factors  mfa.Factors
		passkeys []string
		calls    string
	}{
		{"no factor", mfa.Factors{}, nil, "factors"},
		{"an app and codes: passkeys not read", mfa.Factors{TOTPEnabledAt: t0, RecoveryCodesLeft: 8}, nil, "factors"},
		{"passkeys", mfa.Factors{Passkeys: 2, RecoveryCodesLeft: 10}, []string{"laptop", "phone"}, "factors|passkeys"},
	}
	for _, tc := range tests {
		f, alice := setup()
		id := alice.User.ID
		f.factors[id] = tc.factors
		var keys []mfa.Passkey
		for _, name := range tc.passkeys {
			keys = append(keys, passkey(id, name))
		}
		f.passkeys[id] = keys
		got, err := New(f).Execute(context.Background(), alice)
		if want := (Result{Factors: tc.factors, Passkeys: keys}); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Execute = %+v, %v; want the caller's own %+v", tc.why, got, err, want)
		}
		if calls := strings.Join(f.calls, "|"); calls != tc.calls {
			t.Errorf("%s: calls %q, want %q", tc.why, calls, tc.calls)
		}
	}
}

func TestListNeedsASession(t *testing.T) {
	f, alice := setup()
	f.factors[alice.User.ID] = mfa.Factors{TOTPEnabledAt: t0}
	alice.SessionID = nil
	if got, err := New(f).Execute(context.Background(), alice); !errors.Is(err, auth.ErrNotAuthenticated) || len(f.calls) != 0 {
		t.Fatalf("without a session: %+v, %v, calls %q", got, err, f.calls)
	}
}

func TestListStoreErrors(t *testing.T) {
	broken := errors.New("store down")
	for _, failing := range []string{"factors", "passkeys"} {
		f, alice := setup()
		f.factors[alice.User.ID] = mfa.Factors{Passkeys: 1}
		f.passkeys[alice.User.ID] = []mfa.Passkey{passkey(alice.User.ID, "laptop")}
		if failing == "factors" {
			f.factorsErr = broken
		} else {
			f.passkeysErr = broken
		}
		if got, err := New(f).Execute(context.Background(), alice); !errors.Is(err, broken) || !reflect.DeepEqual(got, Result{}) {
			t.Errorf("%s failing: %+v, %v; want the error and nothing else", failing, got, err)
		}
	}
}
