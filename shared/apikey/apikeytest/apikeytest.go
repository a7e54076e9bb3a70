// Package apikeytest is a hand-written fake of the API keys a user holds,
// for the unit tests of the slices that revoke them (apikey.RevokeAll):
// embed Keys in a fake store.
package apikeytest

import (
	"context"

	"github.com/gofrs/uuid/v5"
)

// Keys counts the keys each user holds.
type Keys struct {
	Held map[uuid.UUID]int
}

// DeleteUserAPIKeys revokes every key of userID and reports how many.
func (k *Keys) DeleteUserAPIKeys(_ context.Context, userID uuid.UUID) (int, error) {
	n := k.Held[userID]
	delete(k.Held, userID)
	return n, nil
}

// Give makes userID hold n keys.
func (k *Keys) Give(userID uuid.UUID, n int) {
	if k.Held == nil {
		k.Held = map[uuid.UUID]int{}
	}
	k.Held[userID] = n
}
