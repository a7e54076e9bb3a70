package updatewebhook

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Store reads the endpoint, checks the current password (its windows, its
// trail) when the URL changes, and stores the change with its event, in
// one transaction.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	WebhookEndpoint(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error)
	WebhookEndpointForUpdate(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error)
	UpdateWebhookEndpoint(ctx context.Context, e webhook.Endpoint) error
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}
