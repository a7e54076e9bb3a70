package listactivity

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// Store reads a page of the audit trail.
type Store interface {
	AuditEvents(ctx context.Context, q audit.Query) ([]audit.Event, error)
}
