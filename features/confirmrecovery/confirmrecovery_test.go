package confirmrecovery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey/apikeytest"
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
	authtest.Attempts
	onetimetest.Outbox
	apikeytest.Keys
}

func (f *fakeStore) TokenForUpdate(ctx context.Context, id []byte) (onetime.Token, error) {
	return f.Token(ctx, id)
}
func (f *fakeStore) Token(_ context.Context, id []byte) (onetime.Token, error) {
	t, ok := f.tokens[string(id)]
	if !ok {
		return onetime.Token{}, onetime.ErrInvalid
	}
	return t, nil
}
func (f *fakeStore) UserByIDForUpdate(context.Context, uuid.UUID) (user.User, error) {
	return f.user, nil
}
func (f *fakeStore) UserByID(context.Context, uuid.UUID) (user.User, error) {
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
func (f *fakeStore) ClearAttempts(ctx context.Context, key string) error {
	f.cleared = key
	return f.Attempts.ClearAttempts(ctx, key)
}
func (f *fakeStore) SetEmailVerified(_ context.Context, _ uuid.UUID, _ string, now time.Time) error {
	f.user.EmailVerifiedAt = now
	return nil
}
func (f *fakeStore) ClearEmailClaims(context.Context, string, uuid.UUID, time.Time) ([]uuid.UUID, error) {
	f.calls = append(f.calls, "claims")
	return nil, nil
}
func (f *fakeStore) VoidTokens(context.Context, uuid.UUID, time.Time) error { return nil }

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestConfirm(t *testing.T) {
	u := user.User{ID: user.NewID(), Username: "Alice", Email: "alice@example.com", IsActive: true}
	secret, tok := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	f := &fakeStore{tokens: map[string]onetime.Token{string(tok.ID): tok}, user: u}
	f.Give(u.ID, 1)
	guard := auth.Guard{PerIP: 50, Window: time.Minute, Key: []byte("k")}
	i := New(f, &authtest.Hasher{}, &f.Outbox, guard, 8, func() time.Time { return t0.Add(time.Minute) })
	ctx := context.Background()
	if err := i.Execute(ctx, Input{Token: secret, NewPassword: "short"}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("a weak password: %v", err)
	}
	if err := i.Execute(ctx, Input{Token: secret, NewPassword: "a new password"}); err != nil {
		t.Fatal(err)
	}
	if f.user.PasswordHash != "hash:a new password" || strings.Join(f.calls, ",") != "password,void,sessions,claims" || f.cleared != guard.UserKey("alice") || !f.user.EmailVerified() {
		t.Fatalf("after: %+v, calls %v, cleared %q", f.user, f.calls, f.cleared)
	}
	if got := f.Types(); len(got) != 3 || got[0] != audit.PasswordRecovered || got[1] != audit.SessionEnded || got[2] != audit.APIKeyRevoked ||
		len(f.Messages) != 1 || f.Messages[0].Template != "password_changed" {
		t.Fatalf("events %v, messages %+v", got, f.Messages)
	}
	if e := f.Events[2]; len(f.Held) != 0 || e.Details["reason"] != "recovery" || !e.Actor.ID.IsNil() {
		t.Fatalf("keys left %v, revocation %+v", f.Held, e)
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

// TestUnusableTokens: a token is looked up before the new password is
// hashed, so an unusable one (unknown, used, expired, of an inactive
// account) costs no hash; each counts in the client's login window, and
// once that is full every confirmation from the client is 429 before any
// lookup. A usable token gives its attempt back; another client is not
// affected.
func TestUnusableTokens(t *testing.T) {
	u := user.User{ID: user.NewID(), Username: "alice", Email: "alice@example.com", EmailVerifiedAt: t0, IsActive: true}
	secret, tok := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	usedSecret, used := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	used.UsedAt = t0
	expiredSecret, expired := onetime.New(u.ID, onetime.Recovery, u.Email, t0.Add(-2*time.Hour), time.Hour)
	unknown, _ := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	f := &fakeStore{tokens: map[string]onetime.Token{string(tok.ID): tok, string(used.ID): used, string(expired.ID): expired}, user: u}
	h := &authtest.Hasher{}
	guard := auth.Guard{PerIP: 4, Window: 15 * time.Minute, Key: []byte("k")}
	i := New(f, h, &f.Outbox, guard, 8, func() time.Time { return t0.Add(time.Minute) })
	ctx := context.Background()
	confirm := func(token, ip string) error {
		return i.Execute(ctx, Input{Token: token, NewPassword: "a new password", ClientIP: ip})
	}
	if err := confirm(secret, "192.0.2.1"); err != nil || f.Count(guard.ClientLimit("192.0.2.1").Key) != 0 || h.Hashes != 1 {
		t.Fatalf("a usable token: %v, its attempt %d, %d hashes", err, f.Count(guard.ClientLimit("192.0.2.1").Key), h.Hashes)
	}
	for _, bad := range []string{unknown, usedSecret, expiredSecret, secret} { // secret: used now
		if err := confirm(bad, "192.0.2.7"); !errors.Is(err, onetime.ErrInvalid) {
			t.Fatalf("an unusable token: %v", err)
		}
	}
	if h.Hashes != 1 || f.Count(guard.ClientLimit("192.0.2.7").Key) != 4 {
		t.Fatalf("after 4 unusable tokens: %d hashes, %d counted", h.Hashes, f.Count(guard.ClientLimit("192.0.2.7").Key))
	}
	fresh, tok2 := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	f.tokens[string(tok2.ID)] = tok2
	err := confirm(fresh, "192.0.2.7")
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != guard.Window || h.Hashes != 1 || !f.tokens[string(tok2.ID)].UsedAt.IsZero() {
		t.Fatalf("a full window: %v, %d hashes", err, h.Hashes)
	}
	if err := confirm(fresh, "198.51.100.1"); err != nil {
		t.Fatalf("another client: %v", err)
	}
	// An inactive account's token counts as unusable, unhashed.
	f.user.IsActive = false
	inactive, tok3 := onetime.New(u.ID, onetime.Recovery, u.Email, t0, time.Hour)
	f.tokens[string(tok3.ID)] = tok3
	if err := confirm(inactive, "203.0.113.9"); !errors.Is(err, onetime.ErrInvalid) || h.Hashes != 2 || f.Count(guard.ClientLimit("203.0.113.9").Key) != 1 {
		t.Fatalf("an inactive account: %v, %d hashes", err, h.Hashes)
	}
}
