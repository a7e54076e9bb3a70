package deleteaccount

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

// fakeStore is a hand-written fake: the trail, the attempt windows, the
// outbox, the user's password hash and factors, and the deleted users.
type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
	hash    string // the user's password hash as stored
	factors mfa.Factors
	deleted []uuid.UUID
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.hash, nil
}

func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) { return f.factors, nil }

func (f *fakeStore) DeleteUser(_ context.Context, id uuid.UUID) error {
	if slices.Contains(f.deleted, id) {
		return user.ErrNotFound
	}
	f.deleted = append(f.deleted, id)
	return nil
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore, *authtest.Hasher, auth.Actor) {
	alice := auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:pw", Role: user.RoleAdmin,
		Email: "alice@example.com", EmailVerifiedAt: t0}, SessionID: []byte{1}}
	store, hasher := &fakeStore{hash: "hash:pw"}, &authtest.Hasher{}
	return New(store, hasher, store, guard(), func() time.Time { return t0 }), store, hasher, alice
}

func TestDelete(t *testing.T) {
	i, store, _, alice := setup()
	ctx := context.Background()
	if err := i.Execute(ctx, alice, Input{CurrentPassword: "pw", ClientIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(store.deleted, []uuid.UUID{alice.User.ID}) {
		t.Fatalf("deleted %v, want alice", store.deleted)
	}
	e := store.Events
	if !slices.Equal(store.Types(), []audit.Type{audit.UserDeleted}) || e[0].Actor.ID != alice.User.ID || e[0].Target.ID != alice.User.ID ||
		e[0].Details["user_id"] != alice.User.ID.String() {
		t.Fatalf("events %+v, want one user.deleted keeping alice's id", e)
	}
	if len(store.Messages) != 1 || store.Messages[0].Template != "account_deleted" || store.Messages[0].To != "alice@example.com" {
		t.Fatalf("messages %+v, want the farewell notice to the verified address", store.Messages)
	}
	if n := store.Count(guard().UserKey("alice")); n != 0 {
		t.Fatalf("%d attempts left counted: the right password settles its attempt", n)
	}
	// Gone meanwhile: refused, nothing recorded, the attempt given back.
	if err := i.Execute(ctx, alice, Input{CurrentPassword: "pw", ClientIP: "192.0.2.1"}); !errors.Is(err, user.ErrNotFound) || len(store.Events) != 1 {
		t.Fatalf("again: %v, %d events", err, len(store.Events))
	}
}

func guard() auth.Guard {
	return auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}
}

func TestNoNoticeWithoutAVerifiedAddress(t *testing.T) {
	i, store, _, alice := setup()
	alice.User.EmailVerifiedAt = time.Time{}
	if err := i.Execute(context.Background(), alice, Input{CurrentPassword: "pw"}); err != nil || len(store.deleted) != 1 {
		t.Fatalf("delete: %v, deleted %v", err, store.deleted)
	}
	if len(store.Messages) != 0 {
		t.Fatalf("messages %+v: nothing to an unverified address", store.Messages)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		change  func(a *auth.Actor, s *fakeStore, in *Input)
		want    error
		events  []audit.Type
		hashing bool // whether the password was verified
	}{
		{"anonymous", func(a *auth.Actor, _ *fakeStore, _ *Input) { *a = auth.Actor{} }, auth.ErrNotAuthenticated, nil, false},
		{"a super admin", func(a *auth.Actor, _ *fakeStore, _ *Input) { a.User.Role = user.RoleSuperAdmin }, auth.ErrForbidden, nil, false},
		{"no current password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "" }, apperr.ErrInvalid, nil, false},
		{"a wrong password", func(_ *auth.Actor, _ *fakeStore, in *Input) { in.CurrentPassword = "nope" }, auth.ErrWrongPassword,
			[]audit.Type{audit.ReauthenticationFailed}, true},
		{"a password replaced meanwhile", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.hash = "hash:new" }, auth.ErrWrongPassword, nil, true},
		{"aal 1 with a second factor", func(_ *auth.Actor, s *fakeStore, _ *Input) { s.factors = mfa.Factors{Passkeys: 1} }, auth.ErrAAL2Required, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, store, hasher, alice := setup()
			in := Input{CurrentPassword: "pw", ClientIP: "192.0.2.1"}
			tc.change(&alice, store, &in)
			if err := i.Execute(ctx, alice, in); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(store.deleted) != 0 || len(store.Messages) != 0 || !slices.Equal(store.Types(), tc.events) {
				t.Fatalf("deleted %v, messages %d, events %v; want nothing but %v", store.deleted, len(store.Messages), store.Types(), tc.events)
			}
			if (hasher.Verifies > 0) != tc.hashing {
				t.Fatalf("%d verifications; want some: %v", hasher.Verifies, tc.hashing)
			}
		})
	}
}
