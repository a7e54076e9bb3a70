// Package listmfa shows the caller's second factors: the authenticator
// app, passkeys, and how many recovery codes are left.
package listmfa

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Interactor reads factors.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Execute returns the caller's factors.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) (mfa.Factors, error) {
	if !actor.Authenticated() {
		return mfa.Factors{}, auth.ErrNotAuthenticated
	}
	f, err := i.store.Factors(ctx, actor.User.ID)
	if err != nil {
		return mfa.Factors{}, fmt.Errorf("list factors: %w", err)
	}
	return f, nil
}
