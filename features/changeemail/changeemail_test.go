package changeemail

import (
	"context"
	"errors"
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
	onetimetest.Outbox
}

func (f *fakeStore) ReplaceEmail(_ context.Context, u user.User, email string, _ time.Time) (bool, error) {
	if u.PasswordHash != f.stored {
		return false, nil
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

func setup(email string, verified bool) (*Interactor, *fakeStore, auth.Actor) {
	f := &fakeStore{stored: "hash:password1", email: email}
	u := user.User{ID: user.NewID(), Username: "alice", PasswordHash: "hash:password1", Email: email}
	if verified {
		u.EmailVerifiedAt = t0
	}
	links := onetime.Links{VerificationURL: "http://app/#token={token}", VerificationTTL: time.Hour}
	guard := auth.Guard{PerUser: 3, PerIP: 50, Window: time.Minute, Key: []byte("k")}
	return New(f, &authtest.Hasher{}, &f.Outbox, links, guard, false, func() time.Time { return t0 }), f, auth.Actor{User: u, SessionID: []byte{1}}
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
