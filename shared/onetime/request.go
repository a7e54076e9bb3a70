package onetime

import (
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// RecoveryRequest is a request for a recovery link as it waits, stored,
// for a worker: the same row whatever the address, the address sealed so
// that the store never holds it in the clear.
type RecoveryRequest struct {
	ID        uuid.UUID
	Email     []byte       // the typed address, sealed for ID
	Source    audit.Source // who asked
	CreatedAt time.Time
	// Attempts counts the claims of the request, the current one
	// included; a claim holds the request only while the count is its own.
	Attempts int
}
