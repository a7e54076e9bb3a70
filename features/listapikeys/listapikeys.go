// Package listapikeys shows a signed-in user their live API keys: never a
// key or its hash, only what tells them apart (name, prefix, scope) and
// when each was made, last used (and from where) and expires.
package listapikeys

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Interactor lists keys.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor {
	return &Interactor{store: store, now: now}
}

// Execute returns the caller's live keys, the newest first. Only a
// session lists them: a key learns nothing of its siblings.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) ([]apikey.Key, error) {
	if err := auth.RequireSession(actor); err != nil {
		return nil, err
	}
	keys, err := i.store.UserAPIKeys(ctx, actor.User.ID, i.now())
	if err != nil {
		return nil, fmt.Errorf("list api keys of %s: %w", actor.User.Username, err)
	}
	return keys, nil
}
