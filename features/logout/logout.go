// Package logout ends the caller's session.
package logout

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor logs users out.
type Interactor struct {
	store   Store
	metrics Metrics
}

// New returns the interactor.
func New(store Store, metrics Metrics) *Interactor {
	return &Interactor{store: store, metrics: metrics}
}

// Execute deletes the actor's current session; other sessions stay.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	n, err := i.store.DeleteSession(ctx, actor.SessionID)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	i.metrics.SessionsEnded(session.EndedByLogout, n)
	return nil
}
