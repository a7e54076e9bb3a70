package logout

import (
	"context"
	"net/http"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// Store deletes the session and records its end in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteSession(ctx context.Context, id []byte) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Cookies expires the session cookie.
type Cookies interface {
	Clear(w http.ResponseWriter)
}
