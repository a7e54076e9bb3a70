package listuserapikeys

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the target and reads its live keys.
type Store interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
	UserAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) ([]apikey.Key, error)
}
