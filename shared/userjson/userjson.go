// Package userjson is the user object of the API (SPEC 5): the one JSON
// shape of a user that every slice answering with one writes, so that a
// field added to it is added everywhere at once.
package userjson

import (
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/user"
)

// User is a user as the API shows it: never the password hash; email null
// when there is none.
type User struct {
	ID            uuid.UUID `json:"id"`
	Username      string    `json:"username"`
	Email         *string   `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Role          user.Role `json:"role"`
	IsActive      bool      `json:"is_active"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// From returns u as the API shows it.
func From(u user.User) User {
	r := User{ID: u.ID, Username: u.Username, EmailVerified: u.EmailVerified(), Role: u.Role, IsActive: u.IsActive, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Email != "" {
		r.Email = &u.Email
	}
	return r
}
