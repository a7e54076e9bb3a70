// Package rotatewebhooksecret lets a super admin give a webhook endpoint a
// new signing secret, after their current password. The new secret is
// shown once; the old one still signs for webhook.SecretOverlap (every
// delivery carries both signatures), so receivers move to the new one
// without missing a delivery.
package rotatewebhooksecret

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Interactor rotates secrets.
type Interactor struct {
	store  Store
	sealer Sealer
	hasher Hasher
	guard  auth.Guard
	now    func() time.Time
}

// New returns the interactor; guard throttles the current-password check.
func New(store Store, sealer Sealer, hasher Hasher, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, sealer: sealer, hasher: hasher, guard: guard, now: now}
}

// Input is the endpoint's id, and the caller's current password and
// address.
type Input struct {
	ID              string
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "webhook_rotate_secret"

// Execute finds the endpoint (404 before any password check), checks the
// password and stores a new secret, returned here and never again.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (webhook.Secret, error) {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return "", err
	}
	id, err := webhook.ParseID(in.ID)
	if err != nil {
		return "", err
	}
	if in.CurrentPassword == "" {
		return "", apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	if _, err := i.store.WebhookEndpoint(ctx, id); err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	now := user.Timestamp(i.now())
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret of %s: %w", id, err)
	}
	secret := webhook.NewSecret()
	err = r.Change(ctx, func(ctx context.Context) error {
		if err := i.store.RotateWebhookSecret(ctx, id, i.sealer.SealWebhookSecret(id, string(secret)), now.Add(webhook.SecretOverlap), now); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.WebhookSecretRotated, actor.User.ID, uuid.Nil, map[string]any{"webhook": id.String()}))
	})
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret of %s: %w", id, err)
	}
	return secret, nil
}
