// Package login checks a username and password and starts a session.
// Unknown users and wrong passwords cost the same (one hash verification
// each) and get the same answer; repeated failures per username and per
// client IP are throttled through the database, so the limit holds across
// replicas.
package login

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Limits bound failed logins inside a window, and live sessions per user.
type Limits struct {
	PerUsername     int
	PerIP           int
	Window          time.Duration
	SessionsPerUser int
}

// Interactor logs users in.
type Interactor struct {
	users    Users
	sessions Sessions
	throttle Throttle
	trail    Trail
	hasher   Hasher
	outcomes Outcomes
	policy   session.Policy
	limits   Limits
	now      func() time.Time
}

// New returns the interactor.
func New(users Users, sessions Sessions, throttle Throttle, trail Trail, hasher Hasher, outcomes Outcomes, policy session.Policy, limits Limits, now func() time.Time) *Interactor {
	return &Interactor{users: users, sessions: sessions, throttle: throttle, trail: trail, hasher: hasher, outcomes: outcomes, policy: policy, limits: limits, now: now}
}

// Input is a login attempt, and the client the session is recorded for.
type Input struct {
	Username  string
	Password  string
	ClientIP  string
	UserAgent string
}

// Result is the logged-in user and the new session with its secret, which
// only the client keeps.
type Result struct {
	User    user.User
	Session session.Session
	Secret  string
}

// Execute checks the credentials and starts a session, and reports the
// outcome: success, invalid_credentials, account_inactive,
// too_many_attempts, already_authenticated, validation_failed or error.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	res, err := i.login(ctx, actor, in)
	outcome := "success"
	if err != nil {
		outcome = "error"
		if e, ok := apperr.As(err); ok && e.Kind != apperr.KindInternal && e.Kind != apperr.KindUnavailable {
			outcome = e.Code
		}
	}
	i.outcomes.LoginOutcome(outcome)
	return res, err
}

func (i *Interactor) login(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if actor.Authenticated() {
		return Result{}, auth.ErrAlreadyAuthenticated
	}
	var missing []apperr.FieldError
	if in.Username == "" {
		missing = append(missing, apperr.FieldError{Field: "username", Message: "username is required"})
	}
	if in.Password == "" {
		missing = append(missing, apperr.FieldError{Field: "password", Message: "password is required"})
	}
	if len(missing) > 0 {
		return Result{}, apperr.Invalid(missing...)
	}
	now := i.now()
	userKey, ipKey := "user:"+strings.ToLower(in.Username), "ip:"+in.ClientIP
	userWindow, ipWindow, err := i.throttle.LoginFailures(ctx, userKey, ipKey)
	if err != nil {
		return Result{}, fmt.Errorf("login: %w", err)
	}
	for _, c := range []struct {
		w     auth.FailureWindow
		limit int
	}{{userWindow, i.limits.PerUsername}, {ipWindow, i.limits.PerIP}} {
		if blocked, until := c.w.Blocks(now, c.limit, i.limits.Window); blocked {
			return Result{}, auth.ErrTooManyAttempts(until.Sub(now))
		}
	}

	u, err := i.users.UserByUsername(ctx, in.Username)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, user.ErrNotFound):
		hash = i.hasher.Dummy()
	case err != nil:
		return Result{}, fmt.Errorf("login: %w", err)
	}
	ok, err := i.hasher.Verify(ctx, hash, in.Password)
	if err != nil {
		return Result{}, fmt.Errorf("login: %w", err)
	}
	if !ok || u.ID.IsNil() {
		reason := audit.ReasonWrongPassword
		if u.ID.IsNil() {
			reason = audit.ReasonUnknownUser // the name is not stored: it may be a mistyped password
		}
		err := i.trail.WithinTx(ctx, func(ctx context.Context) error {
			if err := i.throttle.RecordLoginFailure(ctx, now, i.limits.Window, userKey, ipKey); err != nil {
				return err
			}
			return i.failed(ctx, now, u.ID, reason)
		})
		if err != nil {
			return Result{}, fmt.Errorf("login: %w", err)
		}
		return Result{}, auth.ErrInvalidCredentials
	}
	if !u.IsActive {
		return Result{}, i.inactive(ctx, now, u.ID)
	}
	// A hash made with old parameters or an old pepper is replaced, now
	// that the password is known; hashing is done before the transaction.
	var rehash string
	if i.hasher.NeedsRehash(u.PasswordHash) {
		if rehash, err = i.hasher.Hash(ctx, in.Password); err != nil {
			return Result{}, fmt.Errorf("login: rehash: %w", err)
		}
	}
	secret, id := session.NewSecret()
	s := i.policy.Start(id, u.ID, now)
	s.UserAgent, s.IP = session.CleanUserAgent(in.UserAgent), in.ClientIP
	err = i.trail.WithinTx(ctx, func(ctx context.Context) error {
		if userWindow.Failures > 0 {
			if err := i.throttle.ClearLoginFailures(ctx, userKey); err != nil {
				return err
			}
		}
		if rehash != "" {
			if err := i.users.UpdatePasswordHash(ctx, u.ID, rehash, u.UpdatedAt); err != nil {
				return fmt.Errorf("rehash: %w", err)
			}
		}
		// The session is stored only if the user is still active, under
		// the user's row lock: an inactivation racing with this login
		// either waits and then deletes the new session, or wins and the
		// login is refused.
		stored, err := i.sessions.InsertSessionIfActive(ctx, s)
		if err != nil {
			return err
		}
		if !stored {
			return auth.ErrAccountInactive
		}
		ended, err := i.sessions.DeleteOldestSessions(ctx, u.ID, i.limits.SessionsPerUser)
		if err != nil {
			return fmt.Errorf("session limit: %w", err)
		}
		if err := i.trail.RecordEvent(ctx, audit.New(ctx, now, audit.LoginSucceeded, u.ID, u.ID, nil)); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, u.ID, u.ID, session.EndedByLimit, ended); ok {
			return i.trail.RecordEvent(ctx, e)
		}
		return nil
	})
	if errors.Is(err, auth.ErrAccountInactive) {
		return Result{}, i.inactive(ctx, now, u.ID)
	}
	if err != nil {
		return Result{}, fmt.Errorf("login: %w", err)
	}
	if rehash != "" {
		u.PasswordHash = rehash
	}
	return Result{User: u, Session: s, Secret: secret}, nil
}

// failed records a login.failed event for reason; target is the account
// tried, Nil for an unknown username.
func (i *Interactor) failed(ctx context.Context, now time.Time, target uuid.UUID, reason string) error {
	return i.trail.RecordEvent(ctx, audit.New(ctx, now, audit.LoginFailed, uuid.Nil, target, map[string]any{"reason": reason}))
}

// inactive records the refused login of an inactive account and returns
// the refusal.
func (i *Interactor) inactive(ctx context.Context, now time.Time, target uuid.UUID) error {
	if err := i.failed(ctx, now, target, audit.ReasonAccountInactive); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	return auth.ErrAccountInactive
}
