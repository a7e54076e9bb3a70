// Package testwebhook lets a super admin send a test event to a webhook
// endpoint: a webhook.test delivery queued to that endpoint alone,
// whatever it subscribes to, and sent by the delivery loop like any
// other (the request waits for no receiver; its answer is never shown).
package testwebhook

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Interactor queues test deliveries.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Execute queues a test delivery to the endpoint named by id (sent once it
// is enabled).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, id string) error {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return err
	}
	endpoint, err := webhook.ParseID(id)
	if err != nil {
		return err
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := i.store.WebhookEndpoint(ctx, endpoint); err != nil {
			return err
		}
		now, delivery := user.Timestamp(i.now()), user.NewID()
		body, err := webhook.TestPayload(delivery, endpoint, audit.Party{ID: actor.User.ID, Username: actor.User.Username}, now)
		if err != nil {
			return err
		}
		return i.store.QueueWebhookTest(ctx, endpoint, delivery, body, now)
	})
	if err != nil {
		return fmt.Errorf("test webhook %s: %w", endpoint, err)
	}
	return nil
}
