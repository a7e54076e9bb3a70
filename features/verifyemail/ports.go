package verifyemail

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Store spends the token (onetime.Redeem), marks the address verified,
// clears the other claims of it (onetime.Verified) and records the event,
// in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	onetime.Redeemer     // for onetime.Redeem
	onetime.AddressStore // for onetime.Verified
}
