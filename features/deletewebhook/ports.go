package deletewebhook

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// Store deletes the endpoint and records it, in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteWebhookEndpoint(ctx context.Context, id uuid.UUID) error
	RecordEvent(ctx context.Context, e audit.Event) error
}
