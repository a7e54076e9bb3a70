package sendverification

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// Store counts the message in its windows, and stores the token in the
// transaction that queues its message.
type Store interface {
	onetime.VerificationStore // for onetime.Verifications' ReserveResend and Send
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
