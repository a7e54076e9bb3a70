package listapikeys

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
)

// Store reads a user's live keys.
type Store interface {
	UserAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) ([]apikey.Key, error)
}
