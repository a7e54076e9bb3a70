package changeemail

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	stored string // the user's password hash now
	email  string
	voided int
	audittest.Trail
	authtest.Attempts
	authtest.Sessions
	onetimetest.Outbox
}

func (f *fakeStore) ReplaceEmail(_ context.Context, u user.User, email string, _ time.Time) (bool, error) {
	if u.PasswordHash != f.stored {
		return false, nil
	}
	if email == "taken@example.com" { // another account's verified address
		return false, user.ErrEmailTaken
	}
	f.email = email
	return true, nil
}

// Factors: no second factor (the assurance rule is auth's, tested there).
func (f *fakeStore) Factors(context.Context, uuid.UUID) (mfa.Factors, error) {
	return mfa.Factors{}, nil
}

func (f *fakeStore) LockUserWithPassword(_ context.Context, _ uuid.UUID, hash string) (bool, error) {
	return hash == f.stored, nil
}

func (f *fakeStore) VoidTokens(context.Context, uuid.UUID, time.Time) error {
	f.voided++
	return nil
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var guard = auth.Guard{PerUser: 3, PerIP: 50, Window: time.Minute, Key: []byte("k")}

func setup(email string, verified bool) (*Interactor, *fakeStore, auth.Actor) {
	i, f, _, a := setupWithHasher(email, verified)
	return i, f, a
}

func setupWithHasher(email string, verified bool) (*Interactor, *fakeStore, *authtest.Hasher, auth.Actor) {
	f, h := &fakeStore{stored: "hash:password1", email: email}, &authtest.Hasher{}
	u := user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:password1", Email: email}
	if verified {
		u.EmailVerifiedAt = t0
	}
	verify := onetime.Verifications{Links: onetime.Links{VerificationURL: "http://app/#token={token}", VerificationTTL: time.Hour}, Key: []byte("address key")}
	return New(f, h, &f.Outbox, verify, guard, false, func() time.Time { return t0 }), f, h, auth.Actor{User: u, SessionID: []byte{1}}
}

func TestChange(t *testing.T) {
	i, f, a := setup("old@example.com", true)
	u, err := i.Execute(context.Background(), a, Input{Email: "new@example.com", CurrentPassword: "password1"})
	if err != nil || u.Email != "new@example.com" || u.EmailVerified() || f.email != "new@example.com" || f.voided != 1 {
		t.Fatalf("change: %+v, %v", u, err)
	}
	if len(f.Messages) != 2 || f.Messages[0].To != "new@example.com" || f.Messages[0].Template != "verify_email" ||
		f.Messages[1].To != "old@example.com" || f.Messages[1].Template != "email_changed" || f.Messages[1].Secret {
		t.Fatalf("messages %+v", f.Messages)
	}
	if got := f.Types(); len(got) != 1 || got[0] != audit.EmailChanged {
		t.Fatalf("events %v", got)
	}
}

func TestRefusals(t *testing.T) {
	i, f, a := setup("old@example.com", false)
	ctx := context.Background()
	if _, err := i.Execute(ctx, a, Input{Email: "not an address", CurrentPassword: "password1"}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("bad address: %v", err)
	}
	if _, err := i.Execute(ctx, a, Input{Email: "new@example.com", CurrentPassword: "guess"}); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if got := f.Types(); len(got) != 1 || got[0] != audit.ReauthenticationFailed || f.Events[0].Details["action"] != Action {
		t.Fatalf("events %+v", f.Events)
	}
	f.stored = "hash:reset by an admin" // the password changed since the check
	if _, err := i.Execute(ctx, a, Input{Email: "new@example.com", CurrentPassword: "password1"}); !errors.Is(err, auth.ErrWrongPassword) || f.email != "old@example.com" || len(f.Messages) != 0 {
		t.Fatalf("a stale password: %v, email %q, %d messages", err, f.email, len(f.Messages))
	}
	// No notice from an unverified old address; removal sends nothing.
	f.stored = "hash:password1"
	if u, err := i.Execute(ctx, a, Input{CurrentPassword: "password1"}); err != nil || u.Email != "" || len(f.Messages) != 0 {
		t.Fatalf("removal: %+v, %v, %+v", u, err, f.Messages)
	}
}

// TestVerificationMessagesPerAccount: every change to an address counts in
// the account's window; past onetime.VerificationsPerUser an hour it is 429
// with Retry-After before the password is checked, and nothing changes. A
// change refused for another reason (a wrong password) counts nothing.
func TestVerificationMessagesPerAccount(t *testing.T) {
	i, f, h, a := setupWithHasher("", false)
	ctx := context.Background()
	if _, err := i.Execute(ctx, a, Input{Email: "x@example.com", CurrentPassword: "guess"}); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("a wrong password: %v", err)
	}
	for n := range onetime.VerificationsPerUser {
		address := fmt.Sprintf("address%d@example.com", n)
		u, err := i.Execute(ctx, a, Input{Email: address, CurrentPassword: "password1"})
		if err != nil || f.email != address {
			t.Fatalf("change %d: %v", n+1, err)
		}
		a.User = u
	}
	verifies := h.Verifies
	_, err := i.Execute(ctx, a, Input{Email: "one.more@example.com", CurrentPassword: "password1"})
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != onetime.VerificationWindow {
		t.Fatalf("change past the limit: %v", err)
	}
	if f.email == "one.more@example.com" || len(f.Messages) != onetime.VerificationsPerUser || h.Verifies != verifies {
		t.Fatalf("past the limit: address %q, %d messages, %d password checks; want nothing changed, sent or checked", f.email, len(f.Messages), h.Verifies-verifies)
	}
	// Removing the address sends nothing, so it is not limited.
	if _, err := i.Execute(ctx, a, Input{CurrentPassword: "password1"}); err != nil || f.email != "" {
		t.Fatalf("removal past the limit: %v", err)
	}
}

// TestVerificationMessagesPerAddress: past the address's cap (whoever
// asked) the change is made, without a message.
func TestVerificationMessagesPerAddress(t *testing.T) {
	ctx := context.Background()
	var i *Interactor
	var f *fakeStore
	var a auth.Actor
	windows := map[string]authtest.Window{}
	for n := range onetime.VerificationsPerAddress + 1 {
		i, f, a = setup("", false)
		f.Windows = windows // one store of windows, accounts of their own
		u, err := i.Execute(ctx, a, Input{Email: "Victim@Example.com", CurrentPassword: "password1"})
		if err != nil || u.Email != "Victim@Example.com" || f.email != u.Email || len(f.Events) != 1 {
			t.Fatalf("change %d: %+v, %v", n+1, u, err)
		}
	}
	if len(f.Messages) != 0 || len(f.Tokens) != 0 {
		t.Fatalf("the change past the cap sent %+v", f.Messages)
	}
}

// TestTakenAddressCountsNothing: a change refused after the password was
// checked (another account's verified address) gives back the password
// attempt and the message it had counted: as many of them as are sent
// fill no window.
func TestTakenAddressCountsNothing(t *testing.T) {
	i, f, a := setup("", false)
	ctx := context.Background()
	for range onetime.VerificationsPerUser + guard.PerUser {
		if _, err := i.Execute(ctx, a, Input{Email: "taken@example.com", CurrentPassword: "password1"}); !errors.Is(err, user.ErrEmailTaken) {
			t.Fatalf("a taken address: %v", err)
		}
	}
	if n := f.Count(guard.UserKey("alice")); n != 0 {
		t.Fatalf("%d password attempts left counted", n)
	}
	if u, err := i.Execute(ctx, a, Input{Email: "free@example.com", CurrentPassword: "password1"}); err != nil || u.Email != "free@example.com" || len(f.Messages) != 1 {
		t.Fatalf("a change after the refusals: %+v, %v", u, err)
	}
}
