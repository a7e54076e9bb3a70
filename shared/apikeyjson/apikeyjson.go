// Package apikeyjson is the API key object of the API's lists (SPEC 5):
// the one JSON shape that a user's own list and an admin's list of a
// user's keys write. It never holds a key or its hash.
package apikeyjson

import (
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
)

// Key is a key as the API lists it: what tells it apart (name, prefix,
// scope), when it was made and expires, and when and from where it was
// last used (null: never; written once a minute at most).
type Key struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	LastUsedIP *string    `json:"last_used_ip"`
	ExpiresAt  time.Time  `json:"expires_at"`
}

// List is the body of a list of keys.
type List struct {
	APIKeys []Key `json:"api_keys"`
}

// ListOf returns keys as the API lists them.
func ListOf(keys []apikey.Key) List {
	out := List{APIKeys: make([]Key, len(keys))}
	for n, k := range keys {
		out.APIKeys[n] = Key{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix(), Scope: string(k.Scope), CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
		if !k.LastUsedAt.IsZero() {
			used, ip := k.LastUsedAt, k.LastUsedIP
			out.APIKeys[n].LastUsedAt, out.APIKeys[n].LastUsedIP = &used, &ip
		}
	}
	return out
}
