package rotatewebhooksecret

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// Store finds the endpoint, checks the current password (its windows, its
// trail) and stores the new secret with its event, in one transaction.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	WebhookEndpoint(ctx context.Context, id uuid.UUID) (webhook.Endpoint, error)
	RotateWebhookSecret(ctx context.Context, id uuid.UUID, sealed []byte, until, now time.Time) error
}

// Sealer keeps the signing secret unreadable at rest (the mfa keys).
type Sealer interface {
	SealWebhookSecret(endpointID uuid.UUID, secret string) []byte
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}
