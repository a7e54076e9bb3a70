// Package authenticate turns a session cookie into an auth.Actor: it loads
// the session and its user in one query, refuses expired sessions and
// inactive users (ending what sessions such a user still has, as an event
// of the trail), and renews a session inside its refresh window.
package authenticate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor authenticates session secrets.
type Interactor struct {
	store  Store
	policy session.Policy
	now    func() time.Time
}

// New returns the interactor.
func New(store Store, policy session.Policy, now func() time.Time) *Interactor {
	return &Interactor{store: store, policy: policy, now: now}
}

// Result is an authenticated actor, when it was authenticated, and when its
// session expires; Renewed says the expiry was just moved.
type Result struct {
	Actor     auth.Actor
	Now       time.Time
	ExpiresAt time.Time
	Renewed   bool
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
	res := Result{Actor: auth.Actor{User: u, SessionID: s.ID, Methods: s.Methods}, Now: now, ExpiresAt: s.ExpiresAt}
	if renewed, ok := i.policy.Renew(s, now); ok {
		if err := i.store.ExtendSession(ctx, s.ID, renewed.ExpiresAt, renewed.LastSeenAt); err != nil {
			return Result{}, fmt.Errorf("authenticate: renew session: %w", err)
		}
		res.ExpiresAt, res.Renewed = renewed.ExpiresAt, true
	}
	return res, nil
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
