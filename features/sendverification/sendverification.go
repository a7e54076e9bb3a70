// Package sendverification sends the caller a new message to verify their
// address: at most one a minute, none for an address already verified.
package sendverification

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Interval is how often a user may ask for a verification message.
const Interval = time.Minute

// ErrAlreadyVerified: the address needs no verification.
var ErrAlreadyVerified = &apperr.Error{Kind: apperr.KindConflict, Code: "email_already_verified", Message: "your email address is verified already"}

// Interactor sends verification messages.
type Interactor struct {
	store  Store
	mailer Mailer
	links  onetime.Links
	now    func() time.Time
}

// New returns the interactor.
func New(store Store, mailer Mailer, links onetime.Links, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, links: links, now: now}
}

// Execute queues a verification message to the caller's address.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	u := actor.User
	switch {
	case u.Email == "":
		return apperr.Invalid(apperr.FieldError{Field: "email", Message: "your account has no email address to verify"})
	case u.EmailVerified():
		return ErrAlreadyVerified
	}
	now := i.now()
	tooSoon := func(wait time.Duration) *apperr.Error {
		return &apperr.Error{Kind: apperr.KindTooManyRequests, Code: "too_many_attempts", Message: "a verification message was sent less than a minute ago; check your mail", RetryAfter: wait}
	}
	attempt, err := auth.Reserve(ctx, i.store, now, Interval, tooSoon, auth.Limit{Key: "verification:" + u.ID.String(), Max: 1})
	if err != nil {
		return fmt.Errorf("send verification: %w", err)
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		return i.links.SendVerification(ctx, i.store, i.mailer, u, u.Email, now)
	})
	if err != nil {
		return fmt.Errorf("send verification: %w", attempt.Abandon(ctx, err))
	}
	return nil
}
