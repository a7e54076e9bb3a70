package regeneratecodes

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

// Store checks the current password (its windows, its trail), reads the
// factors and replaces the codes.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	mfa.CodeStore    // for mfa.IssueRecoveryCodes
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Keys seal recovery codes: what is stored of each (see
// mfa.IssueRecoveryCodes).
type Keys interface {
	SealRecoveryCode(userID uuid.UUID, code string) mfa.StoredCode
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
