// Package enabletotp finishes the enrollment of an authenticator app: its
// first code proves the app holds the secret set up (see setuptotp), and
// the app is enabled. When it is the user's first factor, a set of
// recovery codes is made and returned, shown this once.
package enabletotp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/signin"
)

// Interactor enables authenticators.
type Interactor struct {
	store  Store
	mailer Mailer
	keys   Keys
	codes  mfa.Codes
	cfg    Config
	now    func() time.Time
}

// Config is the enrollment's policy.
type Config struct {
	Guard  auth.Guard   // the login windows wrong codes count in
	SignIn signin.Rules // a first factor re-issues the caller's session
}

// New returns the interactor; codes is the TOTP mathematics.
func New(store Store, mailer Mailer, keys Keys, codes mfa.Codes, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, keys: keys, codes: codes, cfg: cfg, now: now}
}

// Input is the first code the app shows, and the caller's client.
type Input struct {
	Code      string
	ClientIP  string
	UserAgent string
}

// Result is what a first factor gives (the recovery codes, shown once,
// and the caller's new session); zero otherwise.
type Result = signin.Enrolled

// Action is a wrong first code's details.action in reauthentication.failed.
const Action = "enable_totp"

// Execute checks the code against the secret set up and enables it: 409
// totp_not_set_up without a setup, totp_already_enabled once enabled, 422
// invalid_code for a code that is not the app's (counted in the login
// windows, 429 while they are full). The code's time step is
// the first accepted one, so the same code cannot then log in.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	if in.Code == "" {
		return Result{}, apperr.Invalid(apperr.FieldError{Field: "code", Message: "code is required"})
	}
	u, now := actor.User, i.now()
	t, ok, err := i.store.TOTP(ctx, u.ID)
	switch {
	case err != nil:
		return Result{}, fmt.Errorf("enable totp: %w", err)
	case !ok:
		return Result{}, mfa.ErrNoTOTPSetup
	case t.Enabled():
		return Result{}, mfa.ErrTOTPAlreadyEnabled
	}
	// Guesses are counted like a login's, so a stolen session cannot try
	// every code against a setup its user left unfinished.
	// A second factor is managed from a session made with one (refused
	// before the code costs a try).
	if err := auth.CheckAssurance(ctx, i.store, actor); err != nil {
		return Result{}, fmt.Errorf("enable totp: %w", err)
	}
	attempt, err := i.cfg.Guard.Reserve(ctx, i.store, now, u.Username, in.ClientIP)
	if err != nil {
		return Result{}, fmt.Errorf("enable totp: %w", err)
	}
	step, resealed, ok, err := mfa.CheckCode(i.keys, i.codes, u.ID, t, in.Code, now)
	if err != nil {
		return Result{}, fmt.Errorf("enable totp: %w", attempt.Abandon(ctx, err))
	}
	if !ok {
		// Stays counted, and recorded: a stolen session trying codes
		// against a setup its user left unfinished shows in the trail.
		e := audit.New(ctx, now, audit.ReauthenticationFailed, u.ID, u.ID, map[string]any{"action": Action})
		if err := i.store.RecordEvent(ctx, e); err != nil {
			return Result{}, fmt.Errorf("enable totp: %w", err)
		}
		return Result{}, mfa.ErrWrongEnableCode
	}
	if resealed == nil {
		resealed = t.Sealed
	}
	var res Result
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		first, err := i.store.Factors(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := auth.Assured(actor, first); err != nil {
			return err // a factor enrolled meanwhile
		}
		// Only the secret the code was checked against: a setup since
		// then replaced it, and this code is not its app's.
		if ok, err := i.store.EnableTOTP(ctx, u.ID, t.Sealed, resealed, step, now); err != nil || !ok {
			return cmp.Or[error](err, mfa.ErrWrongEnableCode)
		}
		if err := attempt.Passed(ctx); err != nil {
			return err
		}
		if notice, ok := mail.SecondFactorChanged(u, "an authenticator app was added"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.TOTPEnabled, u.ID, u.ID, nil)); err != nil {
			return err
		}
		res, err = i.cfg.SignIn.Enroll(ctx, i.store, now, signin.Enrollment{UserID: u.ID, Before: first, Method: mfa.MethodTOTP,
			Methods: actor.Methods, UserAgent: in.UserAgent, IP: in.ClientIP, SealCode: i.keys.SealRecoveryCode})
		return err
	})
	if errors.Is(err, auth.ErrAAL2Required) {
		err = attempt.Abandon(ctx, err) // the code was right
	}
	if err != nil {
		return Result{}, fmt.Errorf("enable totp for %s: %w", u.Username, err)
	}
	return res, nil
}
