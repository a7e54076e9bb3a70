package resetmfa

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store locks the target, removes its factors, pending logins, sessions
// and API keys, and records the events, in one transaction.
type Store interface {
	apikey.RevokeStore // for apikey.RevokeAll
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsernameForUpdate(ctx context.Context, username string) (user.User, error)
	DeleteTOTP(ctx context.Context, userID uuid.UUID) (bool, error)
	DeletePasskeys(ctx context.Context, userID uuid.UUID) (int, error)
	DeleteRecoveryCodes(ctx context.Context, userID uuid.UUID) (int, error)
	DeleteUserPendingLogins(ctx context.Context, userID uuid.UUID) error
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
