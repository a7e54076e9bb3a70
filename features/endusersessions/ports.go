package endusersessions

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the target, deletes its sessions and records their end (the
// last two in one transaction).
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsername(ctx context.Context, username string) (user.User, error)
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}
