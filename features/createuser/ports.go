package createuser

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store counts the verification message in its windows, and stores the
// new user, its message's token and its event in one transaction.
type Store interface {
	onetime.VerificationStore // for onetime.Verifications' Reserve and Send
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	InsertUser(ctx context.Context, u user.User) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Hasher hashes the password.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
