package regeneratecodes

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Store checks the current password (its windows, its trail), reads the
// factors and replaces the codes.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	ReplaceRecoveryCodes(ctx context.Context, userID uuid.UUID, digests [][]byte, now time.Time) error
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Keys digest recovery codes.
type Keys interface {
	RecoveryDigest(code string) []byte
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
