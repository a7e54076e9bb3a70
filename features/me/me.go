// Package me answers who the caller is.
package me

import (
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Execute returns the actor's own user. The authenticate middleware has
// loaded it fresh from the database for this request, so no query is needed.
func Execute(actor auth.Actor) (user.User, error) {
	if !actor.Authenticated() {
		return user.User{}, auth.ErrNotAuthenticated
	}
	return actor.User, nil
}
