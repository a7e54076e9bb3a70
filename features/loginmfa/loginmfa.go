// Package loginmfa is the second step of a login: the holder of a pending
// login (a right password, see login) gives a TOTP code or a recovery code
// and gets a new session at assurance level 2. Codes are throttled twice:
// a pending login ends after mfa.MaxCodeAttempts of them, and every wrong
// one counts in the user's login window, so starting over gives no more
// tries.
package loginmfa

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor finishes pending logins.
type Interactor struct {
	pending         Pending
	users           Users
	factors         Factors
	sessions        Sessions
	throttle        Throttle
	trail           Trail
	keys            Keys
	codes           mfa.Codes
	policy          session.Policy
	guard           auth.Guard
	sessionsPerUser int
	now             func() time.Time
}

// New returns the interactor; guard is the login throttle the wrong codes
// count in.
func New(pending Pending, users Users, factors Factors, sessions Sessions, throttle Throttle, trail Trail, keys Keys, codes mfa.Codes,
	policy session.Policy, guard auth.Guard, sessionsPerUser int, now func() time.Time) *Interactor {
	return &Interactor{pending: pending, users: users, factors: factors, sessions: sessions, throttle: throttle, trail: trail, keys: keys, codes: codes,
		policy: policy, guard: guard, sessionsPerUser: sessionsPerUser, now: now}
}

// Input is the pending login's secret (from its cookie), one code, and the
// client the session is recorded for.
type Input struct {
	Secret       string
	Code         string // a TOTP code
	RecoveryCode string
	ClientIP     string
	UserAgent    string
}

// Result is the logged-in user and the new session with its secret.
type Result struct {
	User    user.User
	Session session.Session
	Secret  string
}

// Execute checks the code and, when it is right, ends the pending login
// and starts a session in one transaction: a code is used once (of two
// uses of one TOTP code or one recovery code, one wins), and the session
// is stored only while the user is active with the password the first
// step verified.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if actor.Authenticated() {
		return Result{}, auth.ErrAlreadyAuthenticated
	}
	id, err := session.PendingIDFromSecret(in.Secret)
	if err != nil {
		return Result{}, auth.ErrNotAuthenticated
	}
	if (in.Code == "") == (in.RecoveryCode == "") {
		return Result{}, apperr.Invalid(
			apperr.FieldError{Field: "code", Message: "give either code or recovery_code"},
			apperr.FieldError{Field: "recovery_code", Message: "give either code or recovery_code"})
	}
	now := i.now()
	// Counted before the code is checked, in the pending login and in the
	// login windows: however many codes arrive at once, no more than the
	// limits are ever checked.
	p, err := i.pending.CountPendingAttempt(ctx, id, now, mfa.MaxCodeAttempts)
	if errors.Is(err, session.ErrNotFound) {
		return Result{}, auth.ErrNotAuthenticated // over, used, or ended by its wrong codes
	}
	if err != nil {
		return Result{}, fmt.Errorf("login second step: %w", err)
	}
	u, err := i.users.UserByID(ctx, p.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return Result{}, auth.ErrNotAuthenticated
	}
	if err != nil {
		return Result{}, fmt.Errorf("login second step: %w", err)
	}
	attempt, err := i.guard.Reserve(ctx, i.throttle, now, u.Username, in.ClientIP)
	if err != nil {
		return Result{}, fmt.Errorf("login second step of %s: %w", u.Username, err)
	}
	res, err := i.finish(ctx, now, attempt, p, u, in)
	switch {
	case errors.Is(err, mfa.ErrInvalidCode):
		// A wrong code stays counted; the last one allowed ends the
		// pending login.
		if ferr := i.wrongCode(ctx, now, p, u); ferr != nil {
			return Result{}, fmt.Errorf("login second step of %s: %w", u.Username, ferr)
		}
	case err != nil:
		err = attempt.Abandon(ctx, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("login second step of %s: %w", u.Username, err)
	}
	return res, nil
}

// finish checks the code and, when it is right, makes the session.
func (i *Interactor) finish(ctx context.Context, now time.Time, attempt auth.Attempt, p session.Pending, u user.User, in Input) (Result, error) {
	method, use, err := i.check(ctx, now, u, in)
	if err != nil {
		return Result{}, err
	}
	secret, id := session.NewSecret()
	s := i.policy.Start(id, u.ID, now).MadeWith([]string{mfa.MethodPassword, method})
	s.UserAgent, s.IP = session.CleanUserAgent(in.UserAgent), in.ClientIP
	err = i.trail.WithinTx(ctx, func(ctx context.Context) error {
		if ended, err := i.pending.DeletePendingLogin(ctx, p.ID); err != nil || !ended {
			return cmp.Or[error](err, auth.ErrNotAuthenticated) // another second step used it
		}
		if used, err := use(ctx); err != nil || !used {
			return cmp.Or[error](err, mfa.ErrInvalidCode) // used meanwhile
		}
		// Under the user's row lock, only while the password the first
		// step verified is current and the user active.
		if stored, err := i.sessions.InsertSessionIfCurrent(ctx, s, p.VerifiedHash); err != nil || !stored {
			return cmp.Or(err, errAccountChanged)
		}
		if err := attempt.Succeeded(ctx); err != nil {
			return err
		}
		ended, err := i.sessions.DeleteOldestSessions(ctx, u.ID, i.sessionsPerUser)
		if err != nil {
			return fmt.Errorf("session limit: %w", err)
		}
		details := map[string]any{"methods": s.Methods}
		if method == mfa.MethodRecoveryCode {
			f, err := i.factors.Factors(ctx, u.ID)
			if err != nil {
				return err
			}
			details["recovery_codes_left"] = f.RecoveryCodesLeft
		}
		if err := i.trail.RecordEvent(ctx, audit.New(ctx, now, audit.LoginSucceeded, u.ID, u.ID, details)); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, u.ID, u.ID, session.EndedByLimit, ended); ok {
			return i.trail.RecordEvent(ctx, e)
		}
		return nil
	})
	if errors.Is(err, errAccountChanged) {
		return Result{}, i.changed(ctx, p)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{User: u, Session: s, Secret: secret}, nil
}

// errAccountChanged: the user was inactivated, or given another password,
// after the first step.
var errAccountChanged = errors.New("the account changed since the password was verified")

// check checks the code (mfa.ErrInvalidCode when it is wrong) and returns
// the method it is of and how to use it up, in the session's transaction.
func (i *Interactor) check(ctx context.Context, now time.Time, u user.User, in Input) (string, func(context.Context) (bool, error), error) {
	if in.RecoveryCode != "" {
		code, ok := mfa.NormalizeRecoveryCode(in.RecoveryCode)
		if !ok {
			return "", nil, mfa.ErrInvalidCode
		}
		digests := i.keys.RecoveryDigests(code)
		return mfa.MethodRecoveryCode, func(ctx context.Context) (bool, error) {
			return i.factors.UseRecoveryCode(ctx, u.ID, digests)
		}, nil
	}
	t, ok, err := i.factors.TOTP(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	if !ok || !t.Enabled() {
		return "", nil, mfa.ErrInvalidCode
	}
	step, resealed, ok, err := mfa.CheckCode(i.keys, i.codes, u.ID, t, in.Code, now)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, mfa.ErrInvalidCode
	}
	return mfa.MethodTOTP, func(ctx context.Context) (bool, error) {
		return i.factors.AcceptTOTPStep(ctx, u.ID, step, resealed)
	}, nil
}

// wrongCode records a wrong code, and ends the pending login when it was
// the last one allowed.
func (i *Interactor) wrongCode(ctx context.Context, now time.Time, p session.Pending, u user.User) error {
	return i.trail.WithinTx(ctx, func(ctx context.Context) error {
		if p.Attempts >= mfa.MaxCodeAttempts {
			if _, err := i.pending.DeletePendingLogin(ctx, p.ID); err != nil {
				return err
			}
		}
		return i.trail.RecordEvent(ctx, audit.New(ctx, now, audit.LoginFailed, uuid.Nil, u.ID, map[string]any{"reason": audit.ReasonWrongCode}))
	})
}

// changed ends a pending login whose account changed after its password
// was verified: it can never finish. The answer is the one of a wrong
// password.
func (i *Interactor) changed(ctx context.Context, p session.Pending) error {
	if _, err := i.pending.DeletePendingLogin(ctx, p.ID); err != nil {
		return err
	}
	return auth.ErrInvalidCredentials
}
