package endothersessions

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
)

// Store deletes a user's sessions but one.
type Store interface {
	DeleteOtherSessions(ctx context.Context, userID uuid.UUID, keep []byte) (int, error)
}

// Metrics counts the sessions this scenario ends.
type Metrics interface {
	SessionsEnded(reason session.EndReason, n int)
}
