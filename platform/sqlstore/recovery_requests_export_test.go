package sqlstore

import (
	"time"

	"github.com/gofrs/uuid/v5"
)

// RecoveryRequestQueries returns the queries of the waiting recovery
// requests with sample parameters, for plan tests.
func (s *Store) RecoveryRequestQueries(at time.Time) []ListQuery {
	return []ListQuery{
		{s.claimRecoveryRequestsSQL(), []any{ts(at), ts(at.Add(time.Minute)), 16}},
		{deleteRecoveryRequestSQL, []any{uuid.Must(uuid.NewV7()), 1}},
	}
}
