// Package endusersessions lets admins force a user ranked below them out
// of every session: what to do for a stolen cookie or a lost device.
package endusersessions

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor ends a user's sessions.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
}

// Input names the target.
type Input struct {
	Username string
}

// Execute ends every session of the target and returns how many ended (0
// the second time: it is idempotent). The checks run as in every admin
// scenario.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (int, error) {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return 0, err
	}
	if err := user.CheckUsername(in.Username); err != nil {
		return 0, apperr.Invalid(apperr.FieldError{Field: "username", Message: err.Error()})
	}
	u, err := i.store.UserByUsername(ctx, in.Username)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", in.Username, err)
	}
	if err := auth.CheckTarget(actor, u); err != nil {
		return 0, err
	}
	var n int
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		if n, err = i.store.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, i.now(), actor.User.ID, u.ID, session.EndedByAdmin, n); ok {
			return i.store.RecordEvent(ctx, e)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", in.Username, err)
	}
	return n, nil
}
