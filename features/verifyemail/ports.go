package verifyemail

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Store spends the token (onetime.Redeem), marks the address verified and
// records the event, in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	onetime.Redeemer
	SetEmailVerified(ctx context.Context, userID uuid.UUID, email string, now time.Time) error
	RecordEvent(ctx context.Context, e audit.Event) error
}
