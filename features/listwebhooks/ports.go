package listwebhooks

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Store reads the endpoints.
type Store interface {
	WebhookEndpoints(ctx context.Context) ([]webhook.Endpoint, error)
}
