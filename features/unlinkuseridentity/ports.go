package unlinkuseridentity

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store locks the target's row and unlinks the identity in one
// transaction (see identity.Unlink).
type Store interface {
	identity.UnlinkStore
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsernameForUpdate(ctx context.Context, username string) (user.User, error)
}
