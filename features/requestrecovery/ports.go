package requestrecovery

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store counts requests per client and messages per address, keeps the
// requests until a worker claims and does them, finds the account, and
// stores the token, its message's event and the request's end, in one
// transaction.
type Store interface {
	auth.AttemptStore
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	InsertRecoveryRequest(ctx context.Context, r onetime.RecoveryRequest) error
	ClaimRecoveryRequests(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]onetime.RecoveryRequest, error)
	DeleteRecoveryRequest(ctx context.Context, id uuid.UUID, attempts int) (bool, error)
	UserByEmail(ctx context.Context, email string) (user.User, error)
	InsertToken(ctx context.Context, t onetime.Token) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Sealer keeps a typed address unreadable while its request is stored:
// sealed for the request's id (authenticated with it), opened by the
// worker.
type Sealer interface {
	Seal(id uuid.UUID, secret string) []byte
	Open(id uuid.UUID, sealed []byte) (secret string, stale bool, err error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
