// Package disabletotp removes the caller's authenticator app, after their
// current password. When no other factor is left, the recovery codes go
// too: they stand in for a factor, never alone.
package disabletotp

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Interactor disables authenticators.
type Interactor struct {
	store  Store
	mailer Mailer
	hasher Hasher
	guard  auth.Guard
	now    func() time.Time
}

// New returns the interactor; guard throttles the current-password check.
func New(store Store, mailer Mailer, hasher Hasher, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, hasher: hasher, guard: guard, now: now}
}

// Input is the caller's current password and address.
type Input struct {
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "totp_disable"

// Execute checks the password and removes the authenticator (set up or
// enabled). Without one it changes and records nothing.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	if in.CurrentPassword == "" {
		return apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	u, now := actor.User, i.now()
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return fmt.Errorf("disable totp: %w", err)
	}
	err = r.Change(ctx, func(ctx context.Context) error {
		enabled, err := i.store.DeleteTOTP(ctx, u.ID)
		if err != nil || !enabled {
			return err
		}
		if err := mfa.FactorRemoved(ctx, i.store, u.ID); err != nil {
			return err
		}
		if notice, ok := mail.SecondFactorChanged(u, "the authenticator app was removed"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.TOTPDisabled, u.ID, u.ID, nil))
	})
	if err != nil {
		return fmt.Errorf("disable totp of %s: %w", u.Username, err)
	}
	return nil
}
