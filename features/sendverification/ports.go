package sendverification

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Store counts the request in the user's window, and stores the token in
// the transaction that queues its message.
type Store interface {
	auth.AttemptStore
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	InsertToken(ctx context.Context, t onetime.Token) error
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
