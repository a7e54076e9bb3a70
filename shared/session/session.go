// Package session defines login sessions: their secrets, their lifetimes and
// when they are renewed.
package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Session is a login. Its ID is the SHA-256 of the secret the client holds,
// so a leaked database does not yield usable sessions.
type Session struct {
	ID                []byte
	UserID            uuid.UUID
	CreatedAt         time.Time
	ExpiresAt         time.Time // idle expiry, moved forward by renewal
	AbsoluteExpiresAt time.Time // hard limit
	LastSeenAt        time.Time
}

// secretLen is the session secret's size in bytes.
const secretLen = 32

// ErrNotFound is returned for a session id that is not stored.
var ErrNotFound = &apperr.Error{Kind: apperr.KindNotFound, Code: "session_not_found", Message: "session not found"}

// ErrMalformedSecret is returned for a secret that cannot be one of ours.
var ErrMalformedSecret = errors.New("malformed session secret")

// NewSecret returns a fresh random secret (base64url, for the client) and
// the session id stored for it.
func NewSecret() (secret string, id []byte) {
	b := make([]byte, secretLen)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hash(b)
}

// IDFromSecret returns the session id for a secret given by a client.
func IDFromSecret(secret string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(b) != secretLen {
		return nil, ErrMalformedSecret
	}
	return hash(b), nil
}

func hash(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// Policy is the lifetime rules of sessions.
type Policy struct {
	TTL          time.Duration // idle lifetime
	RefreshRatio float64       // renew when at most this fraction of TTL remains
	AbsoluteTTL  time.Duration // hard limit from creation
}

// Start returns a new session for userID at now, with its id.
func (p Policy) Start(id []byte, userID uuid.UUID, now time.Time) Session {
	now = user.Timestamp(now)
	return Session{
		ID:                id,
		UserID:            userID,
		CreatedAt:         now,
		ExpiresAt:         user.Timestamp(now.Add(min(p.TTL, p.AbsoluteTTL))),
		AbsoluteExpiresAt: user.Timestamp(now.Add(p.AbsoluteTTL)),
		LastSeenAt:        now,
	}
}

// Expired reports whether s is over at now.
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.AbsoluteExpiresAt)
}

// Renew returns s extended to now+TTL (capped by its absolute expiry) and
// true, when at most RefreshRatio of the TTL remains and the extension
// actually moves the expiry. Otherwise it returns s and false.
func (p Policy) Renew(s Session, now time.Time) (Session, bool) {
	remaining := s.ExpiresAt.Sub(now)
	if remaining > time.Duration(p.RefreshRatio*float64(p.TTL)) {
		return s, false
	}
	next := user.Timestamp(now.Add(p.TTL))
	if next.After(s.AbsoluteExpiresAt) {
		next = s.AbsoluteExpiresAt
	}
	if !next.After(s.ExpiresAt) {
		return s, false
	}
	s.ExpiresAt = next
	s.LastSeenAt = user.Timestamp(now)
	return s, true
}
