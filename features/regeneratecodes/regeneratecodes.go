// Package regeneratecodes gives the caller a new set of recovery codes,
// after their current password; the old set is void at once.
package regeneratecodes

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Interactor makes new recovery codes.
type Interactor struct {
	store  Store
	mailer Mailer
	hasher Hasher
	keys   Keys
	guard  auth.Guard
	now    func() time.Time
}

// New returns the interactor; guard throttles the current-password check.
func New(store Store, mailer Mailer, hasher Hasher, keys Keys, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, hasher: hasher, keys: keys, guard: guard, now: now}
}

// Input is the caller's current password and address.
type Input struct {
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "recovery_codes"

// Execute checks the password and replaces the recovery codes; a user
// without a second factor has none to replace (409 mfa_not_enabled).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) ([]string, error) {
	if !actor.Authenticated() {
		return nil, auth.ErrNotAuthenticated
	}
	if in.CurrentPassword == "" {
		return nil, apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	u, now := actor.User, i.now()
	// Refused before the password is checked, so that it costs no try.
	if f, err := i.store.Factors(ctx, u.ID); err != nil || !f.Any() {
		return nil, fmt.Errorf("regenerate recovery codes: %w", cmp.Or[error](err, mfa.ErrNoSecondFactor))
	}
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return nil, fmt.Errorf("regenerate recovery codes: %w", err)
	}
	var codes []string
	err = r.Change(ctx, func(ctx context.Context) error {
		if codes, err = mfa.IssueRecoveryCodes(ctx, i.store, i.keys.SealRecoveryCode, u.ID, now); err != nil {
			return err
		}
		if notice, ok := mail.SecondFactorChanged(u, "new recovery codes were made, and the old ones no longer work"); ok {
			return i.mailer.Queue(ctx, notice)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("regenerate recovery codes of %s: %w", u.Username, err)
	}
	return codes, nil
}
