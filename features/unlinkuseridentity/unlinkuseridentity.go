// Package unlinkuseridentity lets admins unlink an identity from a user
// ranked below them (a provider account the user lost, or that was taken
// over), unless it is the user's last way to sign in: set them a password
// first.
package unlinkuseridentity

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor unlinks users' identities.
type Interactor struct {
	store     Store
	mailer    identity.Mailer
	providers identity.Providers
	now       func() time.Time
}

// New returns the interactor; providers name the providers in the notice.
func New(store Store, mailer identity.Mailer, providers identity.Providers, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, providers: providers, now: now}
}

// Input is the target's username and the identity's id.
type Input struct {
	Username string
	ID       string
}

// Execute unlinks the identity. The checks run as in every admin
// scenario (403, 422, 404 user_not_found, 403 for a target not below the
// caller), then 404 identity_not_found and 409 last_sign_in_method.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return err
	}
	var fields []apperr.FieldError
	if err := user.CheckUsername(in.Username); err != nil {
		fields = append(fields, apperr.FieldError{Field: "username", Message: err.Error()})
	}
	id, err := uuid.FromString(in.ID)
	if err != nil {
		fields = append(fields, apperr.FieldError{Field: "id", Message: "id must be an identity's id (a UUID)"})
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields...)
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		u, err := i.store.UserByUsernameForUpdate(ctx, in.Username)
		if err != nil {
			return err
		}
		if err := auth.CheckTarget(actor, u); err != nil {
			return err
		}
		return identity.Unlink(ctx, i.store, i.mailer, i.providers, i.now(), actor.User.ID, u, id)
	})
	if err != nil {
		return fmt.Errorf("unlink identity of %s: %w", in.Username, err)
	}
	return nil
}
