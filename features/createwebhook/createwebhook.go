// Package createwebhook lets a super admin register a webhook endpoint:
// its URL, the event types it receives and a description, after their
// current password. The signing secret is made here and shown once; the
// store keeps it sealed.
package createwebhook

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

// Interactor registers endpoints.
type Interactor struct {
	store   Store
	sealer  Sealer
	hasher  Hasher
	guard   auth.Guard
	targets webhook.Targets
	now     func() time.Time
}

// New returns the interactor; guard throttles the current-password check,
// targets says which URLs are allowed.
func New(store Store, sealer Sealer, hasher Hasher, guard auth.Guard, targets webhook.Targets, now func() time.Time) *Interactor {
	return &Interactor{store: store, sealer: sealer, hasher: hasher, guard: guard, targets: targets, now: now}
}

// Input is the endpoint as the caller asked for it, and the caller's
// current password and address.
type Input struct {
	URL             string
	Events          []string
	Description     string
	CurrentPassword string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "webhook_create"

// Execute checks the input (every bad field at once), then the password,
// and stores the endpoint, enabled, with a new secret: returned here and
// never again.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (webhook.Endpoint, webhook.Secret, error) {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return webhook.Endpoint{}, "", err
	}
	events, err := check(i.targets, in)
	if err != nil {
		return webhook.Endpoint{}, "", err
	}
	now := user.Timestamp(i.now())
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return webhook.Endpoint{}, "", fmt.Errorf("create webhook: %w", err)
	}
	e := webhook.Endpoint{ID: user.NewID(), URL: in.URL, Description: in.Description, Events: events, Enabled: true, CreatedAt: now, UpdatedAt: now}
	secret := webhook.NewSecret()
	err = r.Change(ctx, func(ctx context.Context) error {
		if err := i.store.InsertWebhookEndpoint(ctx, e, i.sealer.SealWebhookSecret(e.ID, string(secret))); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.WebhookCreated, actor.User.ID, uuid.Nil, map[string]any{"webhook": e.ID.String()}))
	})
	if err != nil {
		return webhook.Endpoint{}, "", fmt.Errorf("create webhook: %w", err)
	}
	return e, secret, nil
}

// check returns the subscription, or every field that breaks a rule.
func check(targets webhook.Targets, in Input) ([]string, error) {
	var fields []apperr.FieldError
	add := func(err error) {
		if e, ok := apperr.As(err); ok {
			fields = append(fields, e.Fields...)
		}
	}
	add(targets.CheckURL(in.URL))
	events, err := webhook.ParseEvents(in.Events)
	add(err)
	add(webhook.CheckDescription(in.Description))
	if in.CurrentPassword == "" {
		fields = append(fields, apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	if len(fields) > 0 {
		return nil, apperr.Invalid(fields...)
	}
	return events, nil
}
