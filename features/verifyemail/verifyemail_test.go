package verifyemail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	tokens map[string]onetime.Token
	users  map[uuid.UUID]user.User
	voided []uuid.UUID
	audittest.Trail
}

func (f *fakeStore) TokenForUpdate(_ context.Context, id []byte) (onetime.Token, error) {
	t, ok := f.tokens[string(id)]
	if !ok {
		return onetime.Token{}, onetime.ErrInvalid
	}
	return t, nil
}

func (f *fakeStore) UserByIDForUpdate(_ context.Context, id uuid.UUID) (user.User, error) {
	u, ok := f.users[id]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) UseToken(_ context.Context, id []byte, now time.Time) error {
	t := f.tokens[string(id)]
	t.UsedAt = now
	f.tokens[string(id)] = t
	return nil
}

func (f *fakeStore) SetEmailVerified(_ context.Context, id uuid.UUID, email string, now time.Time) error {
	u := f.users[id]
	if !strings.EqualFold(u.Email, email) {
		return user.ErrNotFound
	}
	for _, x := range f.users {
		if x.ID != id && x.EmailVerified() && strings.EqualFold(x.Email, email) {
			return user.ErrEmailTaken // the partial unique index
		}
	}
	u.EmailVerifiedAt = now
	f.users[id] = u
	return nil
}

func (f *fakeStore) ClearEmailClaims(_ context.Context, email string, owner uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for id, u := range f.users {
		if id != owner && !u.EmailVerified() && strings.EqualFold(u.Email, email) {
			u.Email, u.UpdatedAt = "", now
			f.users[id] = u
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (f *fakeStore) VoidTokens(_ context.Context, id uuid.UUID, _ time.Time) error {
	f.voided = append(f.voided, id)
	return nil
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestVerify(t *testing.T) {
	u := user.User{ID: user.NewID(), Username: "alice", Email: "alice@example.com"}
	secret, tok := onetime.New(u.ID, onetime.VerifyEmail, u.Email, t0, time.Hour)
	f := &fakeStore{tokens: map[string]onetime.Token{string(tok.ID): tok}, users: map[uuid.UUID]user.User{u.ID: u}}
	i := New(f, func() time.Time { return t0.Add(time.Minute) })
	ctx := context.Background()
	if err := i.Execute(ctx, ""); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("no token: %v", err)
	}
	if err := i.Execute(ctx, "not a token"); !errors.Is(err, onetime.ErrInvalid) {
		t.Fatalf("a malformed token: %v", err)
	}
	if err := i.Execute(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if !f.users[u.ID].EmailVerified() || f.tokens[string(tok.ID)].UsedAt.IsZero() || len(f.Events) != 1 || f.Events[0].Type != audit.EmailVerified || !f.Events[0].Actor.ID.IsNil() {
		t.Fatalf("after: %+v, events %+v", f.users[u.ID], f.Events)
	}
	if err := i.Execute(ctx, secret); !errors.Is(err, onetime.ErrInvalid) || len(f.Events) != 1 {
		t.Fatalf("the token again: %v", err)
	}
}

// TestVerifyClearsOtherClaims: the account that verifies an address ends
// every other account's unverified claim of it (their tokens void, each
// recorded); a token of an address another account verified meanwhile is
// void.
func TestVerifyClearsOtherClaims(t *testing.T) {
	alice := user.User{ID: user.NewID(), Username: "alice", Email: "shared@example.com"}
	bob := user.User{ID: user.NewID(), Username: "bob", Email: "SHARED@example.com"}
	carol := user.User{ID: user.NewID(), Username: "carol", Email: "carol@example.com"}
	aliceSecret, aliceTok := onetime.New(alice.ID, onetime.VerifyEmail, alice.Email, t0, time.Hour)
	_, bobTok := onetime.New(bob.ID, onetime.VerifyEmail, bob.Email, t0, time.Hour)
	f := &fakeStore{tokens: map[string]onetime.Token{string(aliceTok.ID): aliceTok, string(bobTok.ID): bobTok},
		users: map[uuid.UUID]user.User{alice.ID: alice, bob.ID: bob, carol.ID: carol}}
	i := New(f, func() time.Time { return t0.Add(time.Minute) })
	ctx := context.Background()
	if err := i.Execute(ctx, aliceSecret); err != nil {
		t.Fatal(err)
	}
	if !f.users[alice.ID].EmailVerified() || f.users[bob.ID].Email != "" || f.users[carol.ID].Email != carol.Email {
		t.Fatalf("after alice verified: %+v", f.users)
	}
	if len(f.voided) != 1 || f.voided[0] != bob.ID {
		t.Fatalf("tokens voided of %v, want bob's", f.voided)
	}
	if got := f.Types(); len(got) != 2 || got[0] != audit.EmailChanged || f.Events[0].Target.ID != bob.ID || !f.Events[0].Actor.ID.IsNil() ||
		f.Events[0].Details["removed"] != true || f.Events[0].Details["reason"] != onetime.ClaimCleared || got[1] != audit.EmailVerified {
		t.Fatalf("events %+v", f.Events)
	}

	// Dave claims alice's verified address (a race the store cannot see):
	// his token cannot verify it.
	dave := user.User{ID: user.NewID(), Username: "dave", Email: "Shared@Example.com"}
	daveSecret, daveTok := onetime.New(dave.ID, onetime.VerifyEmail, dave.Email, t0, time.Hour)
	f.users[dave.ID], f.tokens[string(daveTok.ID)] = dave, daveTok
	if err := i.Execute(ctx, daveSecret); !errors.Is(err, onetime.ErrInvalid) || f.users[dave.ID].EmailVerified() {
		t.Fatalf("dave's token: %v", err)
	}
}
