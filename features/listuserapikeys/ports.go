package listuserapikeys

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Store finds the target and reads its live keys.
type Store interface {
	auth.TargetStore // for auth.Target
	UserAPIKeys(ctx context.Context, userID uuid.UUID, now time.Time) ([]apikey.Key, error)
}
