package revokeapikey

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// Store revokes one of a user's keys and records it, in one transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteUserAPIKey(ctx context.Context, userID, id uuid.UUID) error
	RecordEvent(ctx context.Context, e audit.Event) error
}
