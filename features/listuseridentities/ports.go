package listuseridentities

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Store finds the target and reads its identities.
type Store interface {
	auth.TargetStore // for auth.Target
	Identities(ctx context.Context, userID uuid.UUID) ([]identity.Identity, error)
}
