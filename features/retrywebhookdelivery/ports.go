package retrywebhookdelivery

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"
)

// Store makes a delivery due again.
type Store interface {
	RetryWebhookDelivery(ctx context.Context, endpointID, id uuid.UUID, now time.Time) (bool, error)
}
