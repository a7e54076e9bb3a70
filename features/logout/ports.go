package logout

import (
	"context"
	"net/http"

	"github.com/cleanslice/cleanslice/shared/session"
)

// Store deletes the session.
type Store interface {
	DeleteSession(ctx context.Context, id []byte) (int, error)
}

// Metrics counts the sessions this scenario ends.
type Metrics interface {
	SessionsEnded(reason session.EndReason, n int)
}

// Cookies expires the session cookie.
type Cookies interface {
	Clear(w http.ResponseWriter)
}
