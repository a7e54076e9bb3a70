package listwebhookdeliveries

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Store finds the endpoint and reads a page of its deliveries.
type Store interface {
	WebhookEndpoint(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error)
	WebhookDeliveries(ctx context.Context, endpointID, after uuid.UUID, limit int) ([]webhook.Delivery, error)
}
