// Package unlinkidentity unlinks one of the signed-in user's identities,
// after their current password (a user without one: a session signed in
// within 10 minutes), unless it is their last way to sign in.
package unlinkidentity

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Interactor unlinks a user's own identities.
type Interactor struct {
	store     Store
	mailer    identity.Mailer
	providers identity.Providers
	hasher    auth.Verifier
	guard     auth.Guard
	now       func() time.Time
}

// New returns the interactor; guard throttles the current-password check,
// providers name the providers in the notice.
func New(store Store, mailer identity.Mailer, providers identity.Providers, hasher auth.Verifier, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, providers: providers, hasher: hasher, guard: guard, now: now}
}

// Input names the identity (its id) and carries the caller's current
// password and address.
type Input struct {
	ID              string
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "unlink_identity"

// Execute unlinks the identity: 404 identity_not_found when the caller has
// none with that id (before the password, so it costs no try), 409
// last_sign_in_method when it is their last way to sign in.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	id, err := uuid.FromString(in.ID)
	if err != nil {
		return identity.ErrIdentityNotFound
	}
	u, now := actor.User, i.now()
	ids, err := i.store.Identities(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("unlink identity of %s: %w", u.Username, err)
	}
	if _, err := identity.Find(ids, id); err != nil {
		return err
	}
	r, err := i.guard.Confirm(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return fmt.Errorf("unlink identity of %s: %w", u.Username, err)
	}
	err = r.Change(ctx, func(ctx context.Context) error {
		return identity.Unlink(ctx, i.store, i.mailer, i.providers, now, u.ID, u, id)
	})
	if err != nil {
		return fmt.Errorf("unlink identity of %s: %w", u.Username, err)
	}
	return nil
}
