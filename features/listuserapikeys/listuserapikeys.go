// Package listuserapikeys lets admins see the API keys of a user ranked
// below them (what an offboarding checks): never a key or its hash.
package listuserapikeys

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Interactor lists a user's keys.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Input is the query as the client wrote it.
type Input struct {
	Username string
	// Unknown names query parameters that mean nothing here.
	Unknown []string
}

// Execute returns the target's live keys, the newest first. The checks
// run as in every admin scenario: 403 for a caller below admin, 422 for
// bad input, 404 for an unknown user, 403 for a target not below the
// caller.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) ([]apikey.Key, error) {
	u, err := auth.Target(ctx, i.store, actor, in.Username, in.Unknown)
	if err != nil {
		return nil, fmt.Errorf("list api keys of %s: %w", in.Username, err)
	}
	keys, err := i.store.UserAPIKeys(ctx, u.ID, i.now())
	if err != nil {
		return nil, fmt.Errorf("list api keys of %s: %w", in.Username, err)
	}
	return keys, nil
}
