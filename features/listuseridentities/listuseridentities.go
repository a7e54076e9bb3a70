// Package listuseridentities lets admins see the identities linked to a
// user ranked below them.
package listuseridentities

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Interactor lists a user's identities.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Input is the query as the client wrote it.
type Input struct {
	Username string
	Unknown  []string // query parameters that mean nothing here
}

// Execute returns the target's identities. The checks run as in every
// admin scenario: 403 for a caller below admin, 422 for bad input, 404 for
// an unknown user, 403 for a target not below the caller.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) ([]identity.Identity, error) {
	u, err := auth.Target(ctx, i.store, actor, in.Username, in.Unknown)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", in.Username, err)
	}
	ids, err := i.store.Identities(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", in.Username, err)
	}
	return ids, nil
}
