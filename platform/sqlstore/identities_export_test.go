package sqlstore

import (
	"time"

	"github.com/gofrs/uuid/v5"
)

// IdentityQueries returns the queries of linked identities and sign-in
// flows with sample parameters, for plan tests.
func (s *Store) IdentityQueries(userID any, at time.Time) []ListQuery {
	id := uuid.Must(uuid.NewV7())
	return []ListQuery{
		{identityBySubject, []any{"https://idp.example.com", "77"}},
		{identitiesSQL, []any{userID}},
		{countIdentitiesSQL, []any{userID}},
		{useIdentitySQL, []any{id, "a@example.com", ts(at)}},
		{deleteIdentitySQL, []any{userID, id}},
		{takeFlowSQL, []any{make([]byte, 32)}},
		{emailClaimedSQL, []any{"Someone@Example.com"}},
		{s.purgeFlows(), []any{ts(at), 250}},
	}
}
