package changeemail

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store counts the password check and the verification message, changes
// the address, voids the old tokens, stores the new one and records the
// event, in one transaction.
type Store interface {
	auth.ReauthStore          // for guard.Reauthenticate and its Change
	onetime.VerificationStore // for onetime.Verifications' Reserve and Send
	ReplaceEmail(ctx context.Context, u user.User, email string, now time.Time) (bool, error)
	VoidTokens(ctx context.Context, userID uuid.UUID, now time.Time) error
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
