package createwebhook

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Store checks the current password (its windows, its trail) and stores
// the endpoint with its event, in one transaction.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	InsertWebhookEndpoint(ctx context.Context, e webhook.Endpoint, sealedSecret []byte) error
}

// Sealer keeps the signing secret unreadable at rest (the mfa keys).
type Sealer interface {
	SealWebhookSecret(endpointID uuid.UUID, secret string) []byte
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}
