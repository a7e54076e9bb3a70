package listidentities

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/identity"
)

// Store reads a user's identities.
type Store interface {
	Identities(ctx context.Context, userID uuid.UUID) ([]identity.Identity, error)
}
