package setuserpassword

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds, locks and changes the target, revokes its API keys, and
// records the events, in one transaction.
type Store interface {
	apikey.RevokeStore // for apikey.RevokeAll
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsernameForUpdate(ctx context.Context, username string) (user.User, error)
	UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string, updatedAt time.Time) error
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
	VoidRecoveryTokens(ctx context.Context, userID uuid.UUID, now time.Time) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Hasher hashes the new password.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
