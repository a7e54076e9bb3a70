// Package revokeapikey lets a signed-in user revoke one of their API
// keys, for good: it is refused at its next request, on every replica.
package revokeapikey

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Interactor revokes keys.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
}

// Execute revokes the caller's key id (as the API shows it) and records
// api_key.revoked (reason owner). Another user's key, an unknown id and a
// malformed one are all apikey.ErrNotFound. Only a session revokes: a
// stolen key cannot revoke its owner's other keys, nor itself to cover
// its tracks; and, for a user with a second factor, only a session made
// with it (auth.CheckAssurance: keys are credentials), before anything is
// looked up.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, id string) error {
	if err := auth.RequireSession(actor); err != nil {
		return err
	}
	if err := auth.CheckAssurance(ctx, i.store, actor); err != nil {
		return err
	}
	keyID, err := uuid.FromString(id)
	if err != nil {
		return apikey.ErrNotFound
	}
	u := actor.User
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := i.store.DeleteUserAPIKey(ctx, u.ID, keyID); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, apikey.Revoked(ctx, i.now(), u.ID, u.ID, apikey.RevokedByOwner, 1, keyID))
	})
	if err != nil {
		return fmt.Errorf("revoke api key of %s: %w", u.Username, err)
	}
	return nil
}
