// Package deletewebhook lets a super admin remove a webhook endpoint, with
// its subscriptions and deliveries: nothing more is sent to it.
package deletewebhook

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Interactor deletes endpoints.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Execute deletes the endpoint named by id and records it.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, id string) error {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return err
	}
	endpoint, err := webhook.ParseID(id)
	if err != nil {
		return err
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := i.store.DeleteWebhookEndpoint(ctx, endpoint); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, i.now(), audit.WebhookDeleted, actor.User.ID, uuid.Nil, map[string]any{"webhook": endpoint.String()}))
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", endpoint, err)
	}
	return nil
}
