// Package retrywebhookdelivery lets a super admin send one delivery of a
// webhook endpoint again now: given up, delivered or waiting for its next
// attempt, it is due at once (with the same webhook-id), for the delivery
// loop to send.
package retrywebhookdelivery

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Interactor retries deliveries.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Input names the endpoint and its delivery, as the client wrote them.
type Input struct {
	Endpoint, Delivery string
}

// Execute makes the delivery due now; a delivery of another endpoint, or
// none, is webhook.ErrNotFound.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return err
	}
	endpoint, err := webhook.ParseID(in.Endpoint)
	if err != nil {
		return err
	}
	delivery, err := webhook.ParseID(in.Delivery)
	if err != nil {
		return err
	}
	ok, err := i.store.RetryWebhookDelivery(ctx, endpoint, delivery, i.now())
	if err != nil {
		return fmt.Errorf("retry webhook delivery %s: %w", delivery, err)
	}
	if !ok {
		return fmt.Errorf("retry webhook delivery %s of %s: %w", delivery, endpoint, webhook.ErrNotFound)
	}
	return nil
}
