package listuseridentities

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the target and reads its identities.
type Store interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
	Identities(ctx context.Context, userID uuid.UUID) ([]identity.Identity, error)
}
