package verifyemail

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds and locks the token, marks it used and the address verified,
// and records the event, in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	TokenForUpdate(ctx context.Context, id []byte) (onetime.Token, error)
	UserByID(ctx context.Context, id uuid.UUID) (user.User, error)
	UseToken(ctx context.Context, id []byte, now time.Time) error
	SetEmailVerified(ctx context.Context, userID uuid.UUID, email string, now time.Time) error
	RecordEvent(ctx context.Context, e audit.Event) error
}
