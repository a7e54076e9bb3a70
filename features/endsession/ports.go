package endsession

import (
	"context"
	"net/http"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// Store deletes one session of a user by its public id and records its
// end, in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteUserSession(ctx context.Context, userID, publicID uuid.UUID) ([]byte, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Cookies expires the session cookie when the current session ends.
type Cookies interface {
	Clear(w http.ResponseWriter)
}
