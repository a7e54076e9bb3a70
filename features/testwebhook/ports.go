package testwebhook

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Store finds the endpoint and queues the delivery.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	WebhookEndpoint(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error)
	QueueWebhookTest(ctx context.Context, endpointID, id uuid.UUID, payload []byte, now time.Time) error
}
