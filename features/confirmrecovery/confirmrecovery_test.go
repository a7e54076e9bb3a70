package confirmrecovery

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
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	tokens  map[string]onetime.Token
	user    user.User
	calls   []string
	cleared string
	audittest.Trail
	onetimetest.Outbox
}

func (f *fakeStore) TokenForUpdate(_ context.Context, id []byte) (onetime.Token, error) {
	t, ok := f.tokens[string(id)]
	if !ok {
		return onetime.Token{}, onetime.ErrInvalid
	}
	return t, nil
}
func (f *fakeStore) UserByIDForUpdate(context.Context, uuid.UUID) (user.User, error) {
	return f.user, nil
}
func (f *fakeStore) UseToken(_ context.Context, id []byte, now time.Time) error {
	t := f.tokens[string(id)]
	t.UsedAt = now
	f.tokens[string(id)] = t
	return nil
}
func (f *fakeStore) UpdatePasswordHash(_ context.Context, _ uuid.UUID, hash string, _ time.Time) error {
	f.user.PasswordHash = hash
	f.calls = append(f.calls, "password")
	return nil
}
func (f *fakeStore) VoidRecoveryTokens(context.Context, uuid.UUID, time.Time) error {
	f.calls = append(f.calls, "void")
	return nil
}
func (f *fakeStore) DeleteUserSessions(context.Context, uuid.UUID) (int, error) {
	f.calls = append(f.calls, "sessions")
	return 2, nil
}
func (f *fakeStore) ClearAttempts(_ context.Context, key string) error {
	f.cleared = key
	return nil
}
func (f *fakeStore) SetEmailVerified(_ context.Context, _ uuid.UUID, _ string, now time.Time) error {
	f.user.EmailVerifiedAt = now
	return nil
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestConfirm(t *testing.T) {
	u := user.User{ID: user.NewID(), Username: "Alice", Email: "alice@example.com", IsActive: true}
	secret, tok := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	f := &fakeStore{tokens: map[string]onetime.Token{string(tok.ID): tok}, user: u}
	guard := auth.Guard{Key: []byte("k")}
	i := New(f, &authtest.Hasher{}, &f.Outbox, guard, 8, func() time.Time { return t0.Add(time.Minute) })
	ctx := context.Background()
	if err := i.Execute(ctx, Input{Token: secret, NewPassword: "short"}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("a weak password: %v", err)
	}
	if err := i.Execute(ctx, Input{Token: secret, NewPassword: "a new password"}); err != nil {
		t.Fatal(err)
	}
	if f.user.PasswordHash != "hash:a new password" || strings.Join(f.calls, ",") != "password,void,sessions" || f.cleared != guard.UserKey("alice") || !f.user.EmailVerified() {
		t.Fatalf("after: %+v, calls %v, cleared %q", f.user, f.calls, f.cleared)
	}
	if got := f.Types(); len(got) != 2 || got[0] != audit.PasswordRecovered || got[1] != audit.SessionEnded || len(f.Messages) != 1 || f.Messages[0].Template != "password_changed" {
		t.Fatalf("events %v, messages %+v", got, f.Messages)
	}
	if err := i.Execute(ctx, Input{Token: secret, NewPassword: "again a password"}); !errors.Is(err, onetime.ErrInvalid) {
		t.Fatalf("the token again: %v", err)
	}
	// An inactive account's token is as unusable as any.
	f.user.IsActive = false
	secret2, tok2 := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	f.tokens[string(tok2.ID)] = tok2
	if err := i.Execute(ctx, Input{Token: secret2, NewPassword: "a new password"}); !errors.Is(err, onetime.ErrInvalid) {
		t.Fatalf("an inactive account: %v", err)
	}
}
