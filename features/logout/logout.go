// Package logout ends the caller's session.
package logout

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Interactor logs users out.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Execute deletes the actor's current session; other sessions stay.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	if err := i.store.DeleteSession(ctx, actor.SessionID); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
