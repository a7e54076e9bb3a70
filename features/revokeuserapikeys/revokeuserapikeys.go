// Package revokeuserapikeys lets admins revoke the API keys of a user
// ranked below them, one or all: what to do for a leaked CI secret or an
// offboarding.
package revokeuserapikeys

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor revokes a user's keys.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
}

// Input names the target and, optionally, one of its keys ("": all).
type Input struct {
	Username string
	ID       string
}

// Execute revokes the target's key ID, or every key of the target when
// ID is empty, and returns how many went (0 when it had none: idempotent,
// nothing recorded), with api_key.revoked (reason admin). A key that is
// not the target's is apikey.ErrNotFound. The checks run as in every
// admin scenario.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (int, error) {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return 0, err
	}
	var fields []apperr.FieldError
	if err := user.CheckUsername(in.Username); err != nil {
		fields = append(fields, apperr.FieldError{Field: "username", Message: err.Error()})
	}
	var keyID uuid.UUID
	if in.ID != "" {
		var err error
		if keyID, err = uuid.FromString(in.ID); err != nil {
			fields = append(fields, apperr.FieldError{Field: "id", Message: "id must be a key's id, as the list shows it"})
		}
	}
	if len(fields) > 0 {
		return 0, apperr.Invalid(fields...)
	}
	u, err := i.store.UserByUsername(ctx, in.Username)
	if err != nil {
		return 0, fmt.Errorf("revoke api keys of %s: %w", in.Username, err)
	}
	if err := auth.CheckTarget(actor, u); err != nil {
		return 0, err
	}
	var n int
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		now := i.now()
		if keyID.IsNil() {
			var err error
			n, err = apikey.RevokeAll(ctx, i.store, now, actor.User.ID, u.ID, apikey.RevokedByAdmin)
			return err
		}
		if err := i.store.DeleteUserAPIKey(ctx, u.ID, keyID); err != nil {
			return err
		}
		n = 1
		return i.store.RecordEvent(ctx, apikey.Revoked(ctx, now, actor.User.ID, u.ID, apikey.RevokedByAdmin, 1, keyID))
	})
	if err != nil {
		return 0, fmt.Errorf("revoke api keys of %s: %w", in.Username, err)
	}
	return n, nil
}
