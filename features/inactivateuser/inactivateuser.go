// Package inactivateuser lets admins deactivate accounts below their role.
// The target can no longer log in, and every session and API key it has
// ends in the same transaction.
package inactivateuser

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor runs the scenario.
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

// Execute applies the change to the target, which must rank below the
// actor, and returns the target as it is afterwards. Applying it twice
// changes nothing the second time, updated_at included.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error) {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return user.User{}, err
	}
	if err := user.CheckUsername(in.Username); err != nil {
		return user.User{}, apperr.Invalid(apperr.FieldError{Field: "username", Message: err.Error()})
	}
	var out user.User
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		u, err := i.store.UserByUsernameForUpdate(ctx, in.Username)
		if err != nil {
			return err
		}
		if err := auth.CheckTarget(actor, u); err != nil {
			return err
		}
		out = u
		if !u.IsActive {
			return nil
		}
		now := i.now()
		out.IsActive, out.UpdatedAt = false, user.Timestamp(now)
		if err := i.store.SetUserActive(ctx, u.ID, false, out.UpdatedAt); err != nil {
			return err
		}
		ended, err := i.store.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.UserInactivated, actor.User.ID, u.ID, nil)); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, actor.User.ID, u.ID, session.EndedByInactivation, ended); ok {
			if err := i.store.RecordEvent(ctx, e); err != nil {
				return err
			}
		}
		// For good: reactivation does not revive a key.
		_, err = apikey.RevokeAll(ctx, i.store, now, actor.User.ID, u.ID, apikey.RevokedByInactivation)
		return err
	})
	if err != nil {
		return user.User{}, fmt.Errorf("inactivate %s: %w", in.Username, err)
	}
	return out, nil
}
