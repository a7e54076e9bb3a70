// Package endsession lets users end one of their own sessions, wherever it
// is; ending the current one logs them out.
package endsession

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Interactor ends a session.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
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
	var id []byte
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		if id, err = i.store.DeleteUserSession(ctx, actor.User.ID, publicID); err != nil {
			return err
		}
		e, _ := audit.SessionsEnded(ctx, i.now(), actor.User.ID, actor.User.ID, session.EndedBySelf, 1)
		return i.store.RecordEvent(ctx, e)
	})
	if errors.Is(err, session.ErrNotFound) {
		return false, session.ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("end session: %w", err)
	}
	return bytes.Equal(id, actor.SessionID), nil
}
