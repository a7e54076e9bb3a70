// Package endothersessions logs users out everywhere else: every session of
// theirs ends but the one making the request.
package endothersessions

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor ends the other sessions.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
}

// Execute ends every session of the actor except the current one and
// returns how many ended.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) (int, error) {
	if !actor.Authenticated() {
		return 0, auth.ErrNotAuthenticated
	}
	var n int
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		if n, err = i.store.DeleteOtherSessions(ctx, actor.User.ID, actor.SessionID); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, i.now(), actor.User.ID, actor.User.ID, session.EndedByOthers, n); ok {
			return i.store.RecordEvent(ctx, e)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	return n, nil
}
