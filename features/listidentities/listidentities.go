// Package listidentities lists the signed-in user's linked identities.
package listidentities

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Interactor lists a user's own identities.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Execute returns the caller's identities, in the order linked.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) ([]identity.Identity, error) {
	if !actor.Authenticated() {
		return nil, auth.ErrNotAuthenticated
	}
	ids, err := i.store.Identities(ctx, actor.User.ID)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", actor.User.Username, err)
	}
	return ids, nil
}
