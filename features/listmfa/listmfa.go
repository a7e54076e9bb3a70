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

// Result is the caller's factors and passkeys.
type Result struct {
	Factors  mfa.Factors
	Passkeys []mfa.Passkey
}

// Execute returns the caller's factors.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	f, err := i.store.Factors(ctx, actor.User.ID)
	if err != nil {
		return Result{}, fmt.Errorf("list factors: %w", err)
	}
	var keys []mfa.Passkey
	if f.Passkeys > 0 {
		if keys, err = i.store.Passkeys(ctx, actor.User.ID); err != nil {
			return Result{}, fmt.Errorf("list passkeys: %w", err)
		}
	}
	return Result{Factors: f, Passkeys: keys}, nil
}
