package endothersessions

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// Store deletes a user's sessions but one and records their end, in one
// transaction.
type Store interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteOtherSessions(ctx context.Context, userID uuid.UUID, keep []byte) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}
