package requestrecovery

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store counts requests per client and messages per address, finds the
// account, and stores the token, its message's event, in one transaction.
type Store interface {
	auth.AttemptStore
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByEmail(ctx context.Context, email string) (user.User, error)
	InsertToken(ctx context.Context, t onetime.Token) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
