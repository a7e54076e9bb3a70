// Package listwebhooks lets a super admin see the webhook endpoints: URL,
// event types, description and whether each is enabled; never a secret.
package listwebhooks

import (
	"context"
	"fmt"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Interactor lists endpoints.
type Interactor struct{ store Store }

// New returns the interactor.
func New(store Store) *Interactor { return &Interactor{store: store} }

// Execute returns every endpoint, oldest first.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor) ([]webhook.Endpoint, error) {
	if err := auth.Require(actor, user.RoleSuperAdmin); err != nil {
		return nil, err
	}
	out, err := i.store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}
