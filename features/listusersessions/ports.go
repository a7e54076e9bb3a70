package listusersessions

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the target and reads its live sessions.
type Store interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
	UserSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]session.Session, error)
}
