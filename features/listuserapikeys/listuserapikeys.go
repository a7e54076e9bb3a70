// Package listuserapikeys lets admins see the API keys of a user ranked
// below them (what an offboarding checks): never a key or its hash.
package listuserapikeys

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
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
		return nil, fmt.Errorf("list api keys of %s: %w", in.Username, err)
	}
	if err := auth.CheckTarget(actor, u); err != nil {
		return nil, err
	}
	keys, err := i.store.UserAPIKeys(ctx, u.ID, i.now())
	if err != nil {
		return nil, fmt.Errorf("list api keys of %s: %w", in.Username, err)
	}
	return keys, nil
}
