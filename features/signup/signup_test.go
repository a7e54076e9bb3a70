package signup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
	users []user.User
	audittest.Trail
	authtest.Attempts
	onetimetest.Outbox
}

func (f *fakeStore) InsertUser(_ context.Context, u user.User) error {
	for _, x := range f.users {
		if strings.EqualFold(x.Username, u.Username) {
			return user.ErrUsernameTaken
		}
	}
	f.users = append(f.users, u)
	return nil
}

var verify = onetime.Verifications{Links: onetime.Links{VerificationURL: "http://app/verify#token={token}", VerificationTTL: time.Hour}, Key: []byte("address key")}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC)

func setup() (*Interactor, *fakeStore, *authtest.Hasher) {
	s, h := &fakeStore{}, &authtest.Hasher{}
	return New(s, h, &s.Outbox, verify, Limit{Max: 3, Window: time.Hour}, user.AccountRules{MinPasswordLen: 8}, func() time.Time { return t0 }), s, h
}

func TestSignup(t *testing.T) {
	i, s, _ := setup()
	u, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "Alice.S", Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "Alice.S" || u.Role != user.RoleUser || !u.IsActive || u.PasswordHash != "hash:long enough" || u.ID.IsNil() {
		t.Fatalf("user %+v", u)
	}
	if !u.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || u.CreatedAt != u.UpdatedAt {
		t.Fatalf("timestamps %v %v", u.CreatedAt, u.UpdatedAt)
	}
	if len(s.users) != 1 {
		t.Fatalf("%d users stored", len(s.users))
	}
	if len(s.Events) != 1 || s.Events[0].Type != audit.UserSignedUp || !s.Events[0].Actor.ID.IsNil() || s.Events[0].Target.ID != u.ID {
		t.Fatalf("events %+v, want user.signed_up of the new user, by nobody", s.Events)
	}
	if _, err := i.Execute(context.Background(), auth.Actor{}, Input{Username: "alice.s", Password: "long enough"}); !errors.Is(err, user.ErrUsernameTaken) {
		t.Fatalf("second signup: %v", err)
	}
	if len(s.Events) != 1 {
		t.Fatalf("a refused signup recorded %+v", s.Events[1:])
	}
}

func TestSignupRefusals(t *testing.T) {
	i, s, h := setup()
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{SessionID: []byte{1}}, Input{Username: "alice", Password: "long enough"}); !errors.Is(err, auth.ErrAlreadyAuthenticated) {
		t.Errorf("logged in: %v", err)
	}
	_, err := i.Execute(ctx, auth.Actor{}, Input{Username: "a!", Password: "short"})
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid || len(e.Fields) != 2 || e.Fields[0].Field != "username" || e.Fields[1].Field != "password" {
		t.Fatalf("invalid input: %v %+v", err, e)
	}
	if len(s.users) != 0 || h.Hashes != 0 {
		t.Fatalf("refused signups had effects: %d users, %d hashes", len(s.users), h.Hashes)
	}
}

// TestSignupsPerClient: each signup that passes validation counts in the
// client's window, taken names too; past the limit it is 429 before any
// hash, and another client (or IPv6 network) is not affected.
func TestSignupsPerClient(t *testing.T) {
	i, s, h := setup()
	ctx := context.Background()
	try := func(name, ip string) error {
		_, err := i.Execute(ctx, auth.Actor{}, Input{Username: name, Password: "long enough", ClientIP: ip})
		return err
	}
	if err := try("taken.name", "2001:db8::1"); err != nil {
		t.Fatal(err)
	}
	if err := try("taken.name", "2001:db8::2"); !errors.Is(err, user.ErrUsernameTaken) {
		t.Fatalf("taken name: %v", err)
	}
	if err := try("x", "2001:db8::3"); err == nil {
		t.Fatal("an invalid name was accepted")
	}
	if err := try("third.one", "2001:db8::4"); err != nil {
		t.Fatal(err)
	}
	err := try("fourth.one", "2001:db8::5")
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != time.Hour {
		t.Fatalf("fourth signup of the /64: %v", err)
	}
	if h.Hashes != 3 || len(s.users) != 2 {
		t.Fatalf("%d hashes, %d users; want 3 and 2", h.Hashes, len(s.users))
	}
	if err := try("fourth.one", "2001:db9::5"); err != nil {
		t.Fatalf("another network: %v", err)
	}
	unlimited := New(s, h, &s.Outbox, verify, Limit{}, user.AccountRules{MinPasswordLen: 8}, func() time.Time { return t0 })
	if _, err := unlimited.Execute(ctx, auth.Actor{}, Input{Username: "fifth.one", Password: "long enough", ClientIP: "2001:db8::1"}); err != nil {
		t.Fatalf("limit 0: %v", err)
	}
}

// TestSignupWithAddressQueuesVerification: an address at signup stores a
// token for it and queues the message carrying it, in the signup's
// transaction; no address, no message.
func TestSignupWithAddressQueuesVerification(t *testing.T) {
	i, s, _ := setup()
	ctx := context.Background()
	if _, err := i.Execute(ctx, auth.Actor{}, Input{Username: "no.mail", Password: "long enough"}); err != nil || len(s.Messages) != 0 {
		t.Fatalf("no address: %v, %d messages", err, len(s.Messages))
	}
	u, err := i.Execute(ctx, auth.Actor{}, Input{Username: "with.mail", Password: "long enough", Email: "With@Example.com"})
	if err != nil || len(s.Messages) != 1 || len(s.Tokens) != 1 {
		t.Fatalf("with an address: %v, %d messages, %d tokens", err, len(s.Messages), len(s.Tokens))
	}
	m, tok := s.Messages[0], s.Tokens[0]
	if m.To != "With@Example.com" || m.Template != "verify_email" || !m.Secret || tok.UserID != u.ID || tok.Email != u.Email || tok.Purpose != onetime.VerifyEmail {
		t.Fatalf("message %+v, token %+v", m, tok)
	}
}

// TestSignupsWithOneAddress: messages to one address are capped whoever
// asks: past onetime.VerificationsPerAddress an hour, a signup with it
// still succeeds, without a message; a signup that fails counts nothing.
func TestSignupsWithOneAddress(t *testing.T) {
	i, s, _ := setup()
	i.limit = Limit{}
	ctx := context.Background()
	signup := func(name, email string) error {
		_, err := i.Execute(ctx, auth.Actor{}, Input{Username: name, Password: "long enough", Email: email})
		return err
	}
	if err := signup("first.one", "victim@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := signup("FIRST.ONE", "victim@example.com"); !errors.Is(err, user.ErrUsernameTaken) {
		t.Fatalf("a taken name: %v", err)
	}
	for n := 2; n <= onetime.VerificationsPerAddress+2; n++ {
		if err := signup(fmt.Sprintf("account.%d", n), "VICTIM@example.com"); err != nil {
			t.Fatalf("signup %d with the address: %v", n, err)
		}
	}
	if len(s.users) != onetime.VerificationsPerAddress+2 || len(s.Messages) != onetime.VerificationsPerAddress || len(s.Tokens) != onetime.VerificationsPerAddress {
		t.Fatalf("%d users, %d messages, %d tokens; want %d users and %d messages (the refused signup counted nothing)",
			len(s.users), len(s.Messages), len(s.Tokens), onetime.VerificationsPerAddress+2, onetime.VerificationsPerAddress)
	}
	if err := signup("another.one", "someone.else@example.com"); err != nil || len(s.Messages) != onetime.VerificationsPerAddress+1 {
		t.Fatalf("another address: %v, %d messages", err, len(s.Messages))
	}
	s.Windows = nil // an hour later
	if err := signup("later.one", "victim@example.com"); err != nil || len(s.Messages) != onetime.VerificationsPerAddress+2 {
		t.Fatalf("after the window: %v, %d messages", err, len(s.Messages))
	}
}
