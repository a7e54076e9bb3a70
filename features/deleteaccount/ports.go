package deleteaccount

import (
	"context"
	"net/http"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
)

// Store checks the current password (its windows, its trail) and deletes
// the user, with the event, in one transaction.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	// DeleteUser deletes the user and, by the schema, everything that is
	// theirs (user.ErrNotFound when there is no such user).
	DeleteUser(ctx context.Context, userID uuid.UUID) error
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}

// Cookies expires the session cookie of the deleted account.
type Cookies interface {
	Clear(w http.ResponseWriter)
}
