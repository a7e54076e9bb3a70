// Package listuseridentities lets admins see the identities linked to a
// user ranked below them.
package listuseridentities

import (
	"context"
	"fmt"
	"slices"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/user"
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
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return nil, err
	}
	var fields []apperr.FieldError
	if err := user.CheckUsername(in.Username); err != nil {
		fields = append(fields, apperr.FieldError{Field: "username", Message: err.Error()})
	}
	for _, name := range slices.Sorted(slices.Values(in.Unknown)) {
		fields = append(fields, apperr.FieldError{Field: name, Message: "unknown parameter; use username"})
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid(fields...)
	}
	u, err := i.store.UserByUsername(ctx, in.Username)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", in.Username, err)
	}
	if err := auth.CheckTarget(actor, u); err != nil {
		return nil, err
	}
	ids, err := i.store.Identities(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", in.Username, err)
	}
	return ids, nil
}
