package listmfa

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Store reads a user's factors and passkeys.
type Store interface {
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	Passkeys(ctx context.Context, userID uuid.UUID) ([]mfa.Passkey, error)
}
