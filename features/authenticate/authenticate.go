// Package authenticate turns a session cookie into an auth.Actor: it loads
// the session and its user in one query, refuses expired sessions and
// inactive users, and renews a session inside its refresh window.
package authenticate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor authenticates session secrets.
type Interactor struct {
	store   Store
	metrics Metrics
	policy  session.Policy
	now     func() time.Time
}

// New returns the interactor.
func New(store Store, metrics Metrics, policy session.Policy, now func() time.Time) *Interactor {
	return &Interactor{store: store, metrics: metrics, policy: policy, now: now}
}

// Result is an authenticated actor, when it was authenticated, and when its
// session expires; Renewed says the expiry was just moved.
type Result struct {
	Actor     auth.Actor
	Now       time.Time
	ExpiresAt time.Time
	Renewed   bool
}

// Execute authenticates the session secret a client presented.
func (i *Interactor) Execute(ctx context.Context, secret string) (Result, error) {
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
		n, err := i.store.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return Result{}, fmt.Errorf("authenticate: drop sessions of inactive user: %w", err)
		}
		i.metrics.SessionsEnded(session.EndedByInactivation, n)
		return Result{}, auth.ErrNotAuthenticated
	}
	res := Result{Actor: auth.Actor{User: u, SessionID: s.ID}, Now: now, ExpiresAt: s.ExpiresAt}
	if renewed, ok := i.policy.Renew(s, now); ok {
		if err := i.store.ExtendSession(ctx, s.ID, renewed.ExpiresAt, renewed.LastSeenAt); err != nil {
			return Result{}, fmt.Errorf("authenticate: renew session: %w", err)
		}
		res.ExpiresAt, res.Renewed = renewed.ExpiresAt, true
	}
	return res, nil
}
