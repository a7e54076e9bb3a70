package listsessions

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
)

// Store reads a user's live sessions.
type Store interface {
	UserSessions(ctx context.Context, userID uuid.UUID, now time.Time) ([]session.Session, error)
}
