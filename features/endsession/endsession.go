// Package endsession lets users end one of their own sessions, wherever it
// is; ending the current one logs them out.
package endsession

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor ends a session.
type Interactor struct {
	store   Store
	metrics Metrics
}

// New returns the interactor.
func New(store Store, metrics Metrics) *Interactor {
	return &Interactor{store: store, metrics: metrics}
}

// Input names the session by its public id, as the client wrote it.
type Input struct {
	ID string
}

// Execute ends the actor's session named in, and reports whether it was the
// current one. A malformed id, an unknown one and another user's all give
// session.ErrNotFound: nobody can probe other users' sessions.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (current bool, err error) {
	if !actor.Authenticated() {
		return false, auth.ErrNotAuthenticated
	}
	publicID, err := uuid.FromString(in.ID)
	if err != nil || publicID.IsNil() {
		return false, session.ErrNotFound
	}
	id, err := i.store.DeleteUserSession(ctx, actor.User.ID, publicID)
	if errors.Is(err, session.ErrNotFound) {
		return false, session.ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("end session: %w", err)
	}
	i.metrics.SessionsEnded(session.EndedBySelf, 1)
	return bytes.Equal(id, actor.SessionID), nil
}
