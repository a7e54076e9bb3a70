package revokeapikey

import (
	"context"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Store revokes one of a user's keys and records it, in one transaction,
// after the assurance rule.
type Store interface {
	auth.AssuranceStore // for auth.CheckAssurance
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteUserAPIKey(ctx context.Context, userID, id uuid.UUID) error
	RecordEvent(ctx context.Context, e audit.Event) error
}
