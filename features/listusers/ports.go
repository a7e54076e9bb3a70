package listusers

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/user"
)

// Store reads a page of users.
type Store interface {
	ListUsers(ctx context.Context, p user.Page) (users []user.User, total int, err error)
}
