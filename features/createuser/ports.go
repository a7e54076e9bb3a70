package createuser

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/user"
)

// Store stores the new user.
type Store interface {
	InsertUser(ctx context.Context, u user.User) error
}

// Hasher hashes the password.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}
