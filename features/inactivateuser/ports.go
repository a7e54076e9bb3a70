package inactivateuser

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store locks and changes the target, ends its sessions, revokes its API
// keys, and records the events, in one transaction.
type Store interface {
	apikey.RevokeStore // for apikey.RevokeAll
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsernameForUpdate(ctx context.Context, username string) (user.User, error)
	SetUserActive(ctx context.Context, userID uuid.UUID, active bool, updatedAt time.Time) error
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}
