package endsession

import (
	"context"
	"net/http"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
)

// Store deletes one session of a user by its public id.
type Store interface {
	DeleteUserSession(ctx context.Context, userID, publicID uuid.UUID) ([]byte, error)
}

// Metrics counts the sessions this scenario ends.
type Metrics interface {
	SessionsEnded(reason session.EndReason, n int)
}

// Cookies expires the session cookie when the current session ends.
type Cookies interface {
	Clear(w http.ResponseWriter)
}
