package verifyemail

import (
	"context"
	"errors"
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
	if u.Email != email {
		return user.ErrNotFound
	}
	u.EmailVerifiedAt = now
	f.users[id] = u
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
