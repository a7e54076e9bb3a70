package disabletotp

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Store checks the current password (its windows, its trail) and removes
// the authenticator, and the codes when no factor is left, in one
// transaction.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	DeleteTOTP(ctx context.Context, userID uuid.UUID) (bool, error)
	mfa.FactorStore // for mfa.FactorRemoved
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
