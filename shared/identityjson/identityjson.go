// Package identityjson is the JSON of a list of linked identities, as the
// user's own list and an admin's show it (like userjson for users).
package identityjson

import (
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/identity"
)

// Identity is one linked identity: its id (to unlink it), the provider's
// id, the address the provider gave last (null for none), when it was
// linked and last signed in with (null: never since).
type Identity struct {
	ID         uuid.UUID  `json:"id"`
	Provider   string     `json:"provider"`
	Email      *string    `json:"email"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// List is the answer of both lists.
type List struct {
	Identities []Identity `json:"identities"`
}

// From returns the JSON of ids.
func From(ids []identity.Identity) List {
	out := List{Identities: make([]Identity, len(ids))}
	for k, i := range ids {
		j := Identity{ID: i.ID, Provider: i.Provider, CreatedAt: i.CreatedAt}
		if i.Email != "" {
			j.Email = &i.Email
		}
		if !i.LastUsedAt.IsZero() {
			j.LastUsedAt = &i.LastUsedAt
		}
		out.Identities[k] = j
	}
	return out
}
