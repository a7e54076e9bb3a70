// Package authenticate turns a session cookie into an auth.Actor: it loads
// the session and its user in one query, refuses expired sessions and
// inactive users (ending what sessions such a user still has, as an event
// of the trail), renews a session inside its refresh window, and tells
// whether the user must still enroll the second factor their role
// requires (auth.require_second_factor_for): such a session reaches only
// the routes mounted with Enrolling.
package authenticate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// ErrEnrollmentRequired refuses a session of a user whose role requires a
// second factor and who has none, on every route but the few that let
// them enroll one.
var ErrEnrollmentRequired = &apperr.Error{Kind: apperr.KindForbidden, Code: "mfa_enrollment_required",
	Message: "your role requires a second factor: enroll one (an authenticator app or a passkey) first"}

// Interactor authenticates session secrets.
type Interactor struct {
	store  Store
	policy session.Policy
	enroll []user.Role // the roles that must have a second factor
	now    func() time.Time
}

// New returns the interactor; the users of the roles in enroll must have
// a second factor.
func New(store Store, policy session.Policy, enroll []user.Role, now func() time.Time) *Interactor {
	return &Interactor{store: store, policy: policy, enroll: enroll, now: now}
}

// Result is an authenticated actor, when it was authenticated, and when its
// session expires; Renewed says the expiry was just moved. MustEnroll says
// the user's role requires a second factor they do not have.
type Result struct {
	Actor      auth.Actor
	Now        time.Time
	ExpiresAt  time.Time
	Renewed    bool
	MustEnroll bool
}

// Execute authenticates the session secret a client presented. source
// says who presented it; it is asked only when an event is recorded (reads
// carry no audit source, to keep them cheap), and may be nil.
func (i *Interactor) Execute(ctx context.Context, secret string, source func() audit.Source) (Result, error) {
	id, err := session.IDFromSecret(secret)
	if err != nil {
		return Result{}, auth.ErrNotAuthenticated
	}
	s, u, err := i.store.SessionWithUser(ctx, id)
	if errors.Is(err, session.ErrNotFound) {
		return Result{}, auth.ErrNotAuthenticated
	}
	if err != nil {
		return Result{}, fmt.Errorf("authenticate: %w", err)
	}
	now := i.now()
	if s.Expired(now) {
		return Result{}, auth.ErrNotAuthenticated
	}
	if !u.IsActive {
		if source != nil {
			ctx = audit.WithSource(ctx, source())
		}
		if err := i.endSessionsOf(ctx, u.ID, now); err != nil {
			return Result{}, fmt.Errorf("authenticate: end sessions of inactive user: %w", err)
		}
		return Result{}, auth.ErrNotAuthenticated
	}
	mustEnroll, err := i.mustEnroll(ctx, u)
	if err != nil {
		return Result{}, fmt.Errorf("authenticate: %w", err)
	}
	res := Result{Actor: auth.Actor{User: u, SessionID: s.ID, Methods: s.Methods, SignedInAt: s.CreatedAt}, Now: now, ExpiresAt: s.ExpiresAt, MustEnroll: mustEnroll}
	if renewed, ok := i.policy.Renew(s, now); ok {
		if err := i.store.ExtendSession(ctx, s.ID, renewed.ExpiresAt, renewed.LastSeenAt); err != nil {
			return Result{}, fmt.Errorf("authenticate: renew session: %w", err)
		}
		res.ExpiresAt, res.Renewed = renewed.ExpiresAt, true
	}
	return res, nil
}

// mustEnroll reports whether u's role requires a second factor that u
// does not have. Only the users of those roles cost a query (their
// factors, read at every request: a factor removed since the login counts
// at once).
func (i *Interactor) mustEnroll(ctx context.Context, u user.User) (bool, error) {
	if !slices.Contains(i.enroll, u.Role) {
		return false, nil
	}
	f, err := i.store.Factors(ctx, u.ID)
	if err != nil {
		return false, fmt.Errorf("factors of %s: %w", u.ID, err)
	}
	return !f.Any(), nil
}

// endSessionsOf ends every session an inactive user still has (inactivation
// ends them in its own transaction; these were made some other way, a
// direct database change say) and records their end, by nobody (the
// service acted), with the source of the request that presented one.
func (i *Interactor) endSessionsOf(ctx context.Context, userID uuid.UUID, now time.Time) error {
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		n, err := i.store.DeleteUserSessions(ctx, userID)
		if err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, uuid.Nil, userID, session.EndedByInactivation, n); ok {
			return i.store.RecordEvent(ctx, e)
		}
		return nil
	})
}
