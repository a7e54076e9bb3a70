// Package logout ends the caller's session.
package logout

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor logs users out.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
}

// Execute deletes the actor's current session; other sessions stay.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		n, err := i.store.DeleteSession(ctx, actor.SessionID)
		if err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, i.now(), actor.User.ID, actor.User.ID, session.EndedByLogout, n); ok {
			return i.store.RecordEvent(ctx, e)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
