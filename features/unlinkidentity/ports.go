package unlinkidentity

import (
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Store checks the current password (see auth.Guard.Confirm) and unlinks
// the identity in the change's transaction (see identity.Unlink).
type Store interface {
	auth.ReauthStore
	identity.UnlinkStore
}
