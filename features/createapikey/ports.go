package createapikey

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
)

// Store checks the current password (its windows, its trail, the user's
// factors and row lock), counts the user's live keys and stores the new
// one with its event, in the change's transaction.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	LiveAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) (int, error)
	InsertAPIKey(ctx context.Context, k apikey.Key) (bool, error)
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Keys hash a key's secret (see apikey.Hasher).
type Keys interface {
	HashAPIKey(id uuid.UUID, secret []byte) []byte
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
