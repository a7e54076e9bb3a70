package confirmrecovery

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Store counts the attempt in the client's window and looks the token up;
// then finds and locks the token and its user, sets the password, ends the
// sessions, voids the other recovery tokens, clears the login throttle,
// marks the address verified, revokes the API keys and records the
// events, in one transaction.
type Store interface {
	auth.AttemptStore  // for the client's window
	apikey.RevokeStore // for apikey.RevokeAll
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	onetime.Finder       // for onetime.Find
	onetime.Redeemer     // for onetime.Redeem
	onetime.AddressStore // for onetime.Verified
	UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string, updatedAt time.Time) error
	VoidRecoveryTokens(ctx context.Context, userID uuid.UUID, now time.Time) error
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
}

// Hasher hashes the new password.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
