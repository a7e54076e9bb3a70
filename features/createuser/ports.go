package createuser

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store stores the new user and its event in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	InsertUser(ctx context.Context, u user.User) error
	InsertToken(ctx context.Context, t onetime.Token) error
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
