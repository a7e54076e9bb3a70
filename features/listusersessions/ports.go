package listusersessions

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Store finds the target and reads its live sessions.
type Store interface {
	auth.TargetStore // for auth.Target
	UserSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]session.Session, error)
}
