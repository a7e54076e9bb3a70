// Package setuptotp starts the enrollment of an authenticator app: after
// the caller's current password, a fresh TOTP secret is sealed and kept,
// not yet enabled, and returned with its otpauth:// URI (for a QR code).
// The app is enabled by its first code (see enabletotp); a new setup
// replaces one never enabled.
package setuptotp

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Interactor sets authenticators up.
type Interactor struct {
	store  Store
	hasher Hasher
	keys   Keys
	apps   Authenticators
	guard  auth.Guard
	now    func() time.Time
}

// New returns the interactor; guard throttles the current-password check.
func New(store Store, hasher Hasher, keys Keys, apps Authenticators, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, keys: keys, apps: apps, guard: guard, now: now}
}

// Input is the caller's current password and address.
type Input struct {
	CurrentPassword string
	ClientIP        string
}

// Result is the secret to type into an authenticator app, and the URI to
// scan.
type Result struct {
	Secret string
	URI    string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "totp_setup"

// Execute checks the password (an account without one: a sign-in within
// 10 minutes, see auth.Guard.Confirm) and stores a new secret, unless an
// authenticator is enabled already (409 totp_already_enabled).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	if in.CurrentPassword == "" && actor.User.HasPassword() {
		return Result{}, apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	u, now := actor.User, i.now()
	// Refused before the password is checked, so that it costs no try.
	if f, err := i.store.Factors(ctx, u.ID); err != nil || f.TOTP() {
		return Result{}, fmt.Errorf("set up totp: %w", cmp.Or[error](err, mfa.ErrTOTPAlreadyEnabled))
	}
	r, err := i.guard.Confirm(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return Result{}, fmt.Errorf("set up totp: %w", err)
	}
	secret, uri, err := i.apps.NewSecret(u.Username)
	if err != nil {
		return Result{}, fmt.Errorf("set up totp: %w", r.Abandon(ctx, err))
	}
	sealed := i.keys.Seal(u.ID, secret)
	err = r.Change(ctx, func(ctx context.Context) error {
		if ok, err := i.store.SetUpTOTP(ctx, u.ID, sealed, now); err != nil || !ok {
			return cmp.Or[error](err, mfa.ErrTOTPAlreadyEnabled) // enabled meanwhile
		}
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("set up totp for %s: %w", u.Username, err)
	}
	return Result{Secret: secret, URI: uri}, nil
}
