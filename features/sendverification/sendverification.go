// Package sendverification sends the caller a new message to verify their
// address: none for an address already verified, and within
// onetime.Verifications' limits: a minute after the last message to the
// account, at most five an hour to the account (whatever sent them:
// signup, a change, a resend), at most five an hour to the address
// (whoever asked).
package sendverification

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// ErrAlreadyVerified: the address needs no verification.
var ErrAlreadyVerified = &apperr.Error{Kind: apperr.KindConflict, Code: "email_already_verified", Message: "your email address is verified already"}

// Interactor sends verification messages.
type Interactor struct {
	store  Store
	mailer Mailer
	verify onetime.Verifications
	now    func() time.Time
}

// New returns the interactor.
func New(store Store, mailer Mailer, verify onetime.Verifications, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, verify: verify, now: now}
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
	message, err := i.verify.ReserveResend(ctx, i.store, now, u.ID, u.Email)
	if err != nil {
		return fmt.Errorf("send verification: %w", err)
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		return message.Send(ctx, i.store, i.mailer, u, now)
	})
	if err != nil {
		return fmt.Errorf("send verification: %w", message.Abandon(ctx, err))
	}
	return nil
}
