// Package login checks a username and password and starts a session, or,
// for a user with a second factor, a pending login that only the second
// step (loginmfa) finishes. Unknown users and wrong passwords cost the
// same (one hash verification each) and get the same answer; repeated
// failures per username and per client IP are throttled through the
// database, so the limit holds across replicas.
package login

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
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor logs users in.
type Interactor struct {
	store    Store
	hasher   Hasher
	outcomes Outcomes
	cfg      Config
	now      func() time.Time
}

// Config is the login's policy.
type Config struct {
	SignIn     signin.Rules  // the session policy and the per-user session limit
	Guard      auth.Guard    // failed logins per username and per client
	PendingTTL time.Duration // how long a second step may wait
}

// New returns the interactor.
func New(store Store, hasher Hasher, outcomes Outcomes, cfg Config, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, outcomes: outcomes, cfg: cfg, now: now}
}

// Input is a login attempt, and the client the session is recorded for.
type Input struct {
	Username  string
	Password  string
	ClientIP  string
	UserAgent string
}

// Result is the logged-in user and the new session with its secret, which
// only the client keeps; or, for a user with a second factor, the pending
// login (Methods lists how its second step may be made, Secret is its own
// and Session is empty).
type Result struct {
	User    user.User
	Session session.Session
	Secret  string
	Pending *session.Pending
	Methods []string
}

// Execute checks the credentials and starts a session, or a pending login
// when the user has a second factor, and reports the outcome: success,
// mfa_required, invalid_credentials, account_inactive,
// too_many_attempts, already_authenticated, validation_failed or error.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	res, err := i.login(ctx, actor, in)
	outcome := "success"
	if res.Pending != nil {
		outcome = auth.ErrMFARequired.Code
	}
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
	// The attempt is counted before the password is verified, so that at
	// most the limit of wrong passwords is ever verified, however many
	// arrive at once; a success gives it back.
	attempt, err := i.cfg.Guard.Reserve(ctx, i.store, now, in.Username, in.ClientIP)
	if err != nil {
		return Result{}, fmt.Errorf("login: %w", err)
	}
	res, err := i.verified(ctx, now, attempt, in)
	if nc := (notCounted{}); errors.As(err, &nc) {
		err = attempt.Abandon(ctx, nc.error)
	}
	if err != nil {
		return Result{}, fmt.Errorf("login: %w", err)
	}
	return res, nil
}

// notCounted is a failure that is no wrong password (a fault, an inactive
// account): its attempt is given back.
type notCounted struct{ error }

func (e notCounted) Unwrap() error { return e.error }

// verified verifies the password of a counted attempt and, when it is
// right, starts the session.
func (i *Interactor) verified(ctx context.Context, now time.Time, attempt auth.Attempt, in Input) (Result, error) {
	u, hash := user.User{}, i.hasher.Dummy()
	if auth.Plausible(in.Username) {
		var err error
		u, err = i.store.UserByUsername(ctx, in.Username)
		switch {
		case err == nil:
			hash = u.PasswordHash
		case !errors.Is(err, user.ErrNotFound):
			return Result{}, notCounted{err}
		}
	}
	ok, err := i.hasher.Verify(ctx, hash, in.Password)
	if err != nil {
		return Result{}, notCounted{err}
	}
	if !ok || u.ID.IsNil() {
		reason := audit.ReasonWrongPassword
		if u.ID.IsNil() {
			reason = audit.ReasonUnknownUser // the name is not stored: it may be a mistyped password
		}
		if err := i.store.WithinTx(ctx, func(ctx context.Context) error { return i.failed(ctx, now, u.ID, reason) }); err != nil {
			return Result{}, err
		}
		return Result{}, auth.ErrInvalidCredentials
	}
	if !u.IsActive {
		return Result{}, notCounted{i.inactive(ctx, now, u.ID)}
	}
	// A hash made with old parameters or an old pepper is replaced, now
	// that the password is known; hashing is done before the transaction.
	current := u.PasswordHash
	if i.hasher.NeedsRehash(u.PasswordHash) {
		if current, err = i.hasher.Hash(ctx, in.Password); err != nil {
			return Result{}, notCounted{fmt.Errorf("rehash: %w", err)}
		}
	}
	res, err := i.finish(ctx, now, attempt, u, current, in)
	if errors.Is(err, errNotStored) {
		res, err = i.changed(ctx, now, attempt, u, current, in)
	}
	if err != nil {
		return Result{}, err
	}
	res.User.PasswordHash = current
	return res, nil
}

// finish ends a login whose password was right, as the account u read
// before the hash: in one transaction, the new hash stored, then a session,
// or a pending login when u has a second factor. It is errNotStored when
// the account changed since it was read (inactivated, another password, a
// second factor added or removed), other failures notCounted.
func (i *Interactor) finish(ctx context.Context, now time.Time, attempt auth.Attempt, u user.User, current string, in Input) (Result, error) {
	var res Result
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		if current != u.PasswordHash {
			// Only over the hash that was verified: a password set
			// meanwhile is never overwritten with the old one.
			if swapped, err := i.store.RehashPassword(ctx, u.ID, u.PasswordHash, current); err != nil || !swapped {
				return cmp.Or(err, errNotStored)
			}
		}
		var err error
		if u.SecondFactor {
			res, err = i.pending(ctx, now, attempt, u, current, in)
		} else {
			res, err = i.start(ctx, now, attempt, u, current, in)
		}
		return err
	})
	if err != nil && !errors.Is(err, errNotStored) {
		return Result{}, notCounted{err}
	}
	return res, err
}

// changed answers a login whose account changed after its password was
// verified. A second factor added or removed meanwhile leaves the password
// right: the login ends once more as the account is now (a session, or a
// pending login). Otherwise it was inactivated (account_inactive, the
// attempt given back), or given another password (the verified one is no
// longer current: a wrong password, and counted as one).
func (i *Interactor) changed(ctx context.Context, now time.Time, attempt auth.Attempt, u user.User, current string, in Input) (Result, error) {
	again, err := i.store.UserByUsername(ctx, in.Username)
	switch {
	case err == nil && again.ID == u.ID && again.IsActive && again.PasswordHash == u.PasswordHash && again.SecondFactor != u.SecondFactor:
		res, err := i.finish(ctx, now, attempt, again, current, in)
		if errors.Is(err, errNotStored) {
			// Changed twice in a row: no answer worth a wrong password.
			err = notCounted{apperr.ErrUnavailable}
		}
		return res, err
	case err == nil && again.ID == u.ID && !again.IsActive:
		return Result{}, notCounted{i.inactive(ctx, now, u.ID)}
	case errors.Is(err, user.ErrNotFound):
		return Result{}, i.wrong(ctx, now, uuid.Nil, audit.ReasonUnknownUser)
	case err != nil:
		return Result{}, notCounted{err}
	}
	return Result{}, i.wrong(ctx, now, u.ID, audit.ReasonWrongPassword)
}

// wrong records a wrong password (reason, on target: Nil for an unknown
// username) and returns the refusal.
func (i *Interactor) wrong(ctx context.Context, now time.Time, target uuid.UUID, reason string) error {
	if err := i.failed(ctx, now, target, reason); err != nil {
		return err
	}
	return auth.ErrInvalidCredentials
}

// start starts the session of a login with a password alone, inside the
// login's transaction (see signin: stored only while the user is active
// with the password just verified).
func (i *Interactor) start(ctx context.Context, now time.Time, attempt auth.Attempt, u user.User, current string, in Input) (Result, error) {
	s, secret, err := i.cfg.SignIn.Start(ctx, i.store, now, signin.Login{
		User: u, PasswordHash: current, Methods: []string{mfa.MethodPassword}, UserAgent: in.UserAgent, IP: in.ClientIP,
	})
	if errors.Is(err, signin.ErrAccountChanged) {
		return Result{}, errNotStored
	}
	if err != nil {
		return Result{}, err
	}
	if err := attempt.Succeeded(ctx); err != nil {
		return Result{}, err
	}
	return Result{User: u, Session: s, Secret: secret}, nil
}

// pending stores a pending login for a user with a second factor, inside
// the login's transaction. The attempt is given back without forgetting
// the failures before it: the second step's wrong codes count on top of
// them, so starting over gives no more tries. Nothing is recorded: the
// login succeeds, or fails, at its second step.
func (i *Interactor) pending(ctx context.Context, now time.Time, attempt auth.Attempt, u user.User, current string, in Input) (Result, error) {
	factors, err := i.store.Factors(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	if !factors.Any() {
		return Result{}, errNotStored // the last one removed since u was read
	}
	secret, id := session.NewPendingSecret()
	p := session.Pending{ID: id, UserID: u.ID, VerifiedHash: current, Method: mfa.MethodPassword, CreatedAt: user.Timestamp(now),
		ExpiresAt: user.Timestamp(now.Add(i.cfg.PendingTTL)), UserAgent: session.CleanUserAgent(in.UserAgent), IP: in.ClientIP}
	if err := i.store.InsertPendingLogin(ctx, p); err != nil {
		return Result{}, err
	}
	if err := attempt.Passed(ctx); err != nil {
		return Result{}, err
	}
	return Result{User: u, Secret: secret, Pending: &p, Methods: factors.Methods()}, nil
}

// errNotStored: the user changed between the verification and the
// transaction (inactivated, or given another password).
var errNotStored = errors.New("the account changed during the login")

// failed records a login.failed event for reason; target is the account
// tried, Nil for an unknown username.
func (i *Interactor) failed(ctx context.Context, now time.Time, target uuid.UUID, reason string) error {
	return i.store.RecordEvent(ctx, audit.LoginFailure(ctx, now, target, reason))
}

// inactive records the refused login of an inactive account and returns
// the refusal.
func (i *Interactor) inactive(ctx context.Context, now time.Time, target uuid.UUID) error {
	if err := i.failed(ctx, now, target, audit.ReasonAccountInactive); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	return auth.ErrAccountInactive
}
