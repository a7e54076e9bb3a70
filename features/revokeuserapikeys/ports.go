package revokeuserapikeys

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the target, revokes its keys and records it, in one
// transaction.
type Store interface {
	apikey.RevokeStore // for apikey.RevokeAll
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsername(ctx context.Context, username string) (user.User, error)
	DeleteUserAPIKey(ctx context.Context, userID, id uuid.UUID) error
	RecordEvent(ctx context.Context, e audit.Event) error
}
