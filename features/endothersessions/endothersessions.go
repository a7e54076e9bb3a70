// Package endothersessions logs users out everywhere else: every session of
// theirs ends but the one making the request.
package endothersessions

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor ends the other sessions.
type Interactor struct {
	store   Store
	metrics Metrics
}

// New returns the interactor.
func New(store Store, metrics Metrics) *Interactor {
	return &Interactor{store: store, metrics: metrics}
}

// Execute ends every session of the actor except the current one and
// returns how many ended.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) (int, error) {
	if !actor.Authenticated() {
		return 0, auth.ErrNotAuthenticated
	}
	n, err := i.store.DeleteOtherSessions(ctx, actor.User.ID, actor.SessionID)
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	i.metrics.SessionsEnded(session.EndedByOthers, n)
	return n, nil
}
