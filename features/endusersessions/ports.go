package endusersessions

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the target and deletes its sessions.
type Store interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
}

// Metrics counts the sessions this scenario ends.
type Metrics interface {
	SessionsEnded(reason session.EndReason, n int)
}
