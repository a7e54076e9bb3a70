package logout

import (
	"context"
	"net/http"
)

// Store deletes the session.
type Store interface {
	DeleteSession(ctx context.Context, id []byte) error
}

// Cookies expires the session cookie.
type Cookies interface {
	Clear(w http.ResponseWriter)
}
