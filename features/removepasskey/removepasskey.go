// Package removepasskey removes one of the caller's passkeys, after their
// current password. When no factor is left, the recovery codes go too.
package removepasskey

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Interactor removes passkeys.
type Interactor struct {
	store  Store
	mailer Mailer
	hasher Hasher
	guard  auth.Guard
	now    func() time.Time
}

// New returns the interactor; guard throttles the current-password check.
func New(store Store, mailer Mailer, hasher Hasher, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, hasher: hasher, guard: guard, now: now}
}

// Input names the passkey (its id as the API shows it) and carries the
// caller's current password and address.
type Input struct {
	ID              string
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "webauthn_remove"

// Execute removes the passkey: 404 passkey_not_found when the caller has
// none with that id (checked before the password, so it costs no try).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	var fields []apperr.FieldError
	id, err := uuid.FromString(in.ID)
	if err != nil {
		fields = append(fields, apperr.FieldError{Field: "id", Message: "id must be a passkey id (a UUID)"})
	}
	if in.CurrentPassword == "" {
		fields = append(fields, apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields...)
	}
	u, now := actor.User, i.now()
	keys, err := i.store.Passkeys(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	if !hasPasskey(keys, id) {
		return mfa.ErrPasskeyNotFound
	}
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	err = r.Change(ctx, func(ctx context.Context) error {
		if err := i.store.DeletePasskey(ctx, u.ID, id); err != nil {
			return err
		}
		if err := mfa.FactorRemoved(ctx, i.store, u.ID); err != nil {
			return err
		}
		if notice, ok := mail.SecondFactorChanged(u, "a passkey was removed"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.WebAuthnRemoved, u.ID, u.ID, map[string]any{"passkey": id.String()}))
	})
	if err != nil {
		return fmt.Errorf("remove passkey of %s: %w", u.Username, err)
	}
	return nil
}

func hasPasskey(keys []mfa.Passkey, id uuid.UUID) bool {
	for _, k := range keys {
		if k.PublicID == id {
			return true
		}
	}
	return false
}
