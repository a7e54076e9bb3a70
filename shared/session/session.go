// Package session defines login sessions: their secrets, their lifetimes and
// when they are renewed.
package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Session is a login. Its ID is the SHA-256 of the secret the client holds,
// so a leaked database does not yield usable sessions. PublicID is what the
// API shows and takes: random, unrelated to the secret, it names a session
// and never authenticates anything (Nil for sessions from before public
// ids). UserAgent and IP are the client's at login.
type Session struct {
	ID                []byte
	PublicID          uuid.UUID
	UserID            uuid.UUID
	CreatedAt         time.Time
	ExpiresAt         time.Time // idle expiry, moved forward by renewal
	AbsoluteExpiresAt time.Time // hard limit
	LastSeenAt        time.Time
	UserAgent         string
	IP                string
	AAL               int      // assurance: 1 a password alone, 2 with a second factor
	Methods           []string // how it was made (mfa.MethodPassword, ...)
}

// EndReason says why sessions ended.
type EndReason string

// The reasons sessions end.
const (
	EndedByLogout       EndReason = "logout"       // the session logged out
	EndedBySelf         EndReason = "self"         // its user ended it from another session
	EndedByOthers       EndReason = "others"       // its user ended every other session
	EndedByAdmin        EndReason = "admin"        // an admin ended the user's sessions
	EndedByPassword     EndReason = "password"     // a password change or reset
	EndedByInactivation EndReason = "inactivation" // the user was inactivated
	EndedByLimit        EndReason = "limit"        // a login past auth.max_sessions_per_user
	EndedByExpiry       EndReason = "expiry"       // purged after it expired
	EndedByRecovery     EndReason = "recovery"     // the password was recovered by mail
	EndedByMFAReset     EndReason = "mfa_reset"    // an admin removed the user's second factors
	EndedByEnrollment   EndReason = "mfa_enrolled" // the user enrolled their first second factor
)

// MaxUserAgent is how many bytes of a User-Agent a session keeps.
const MaxUserAgent = 256

// CleanUserAgent returns ua without control characters, cut to at most
// MaxUserAgent bytes at a character boundary: safe to store and show.
func CleanUserAgent(ua string) string {
	var b strings.Builder
	for _, r := range ua {
		if unicode.IsControl(r) || r == utf8.RuneError {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > MaxUserAgent {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
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

// Start returns a new session for userID at now, with its id and a new
// public id (UUIDv7).
func (p Policy) Start(id []byte, userID uuid.UUID, now time.Time) Session {
	now = user.Timestamp(now)
	return Session{
		ID:                id,
		PublicID:          uuid.Must(uuid.NewV7()),
		UserID:            userID,
		CreatedAt:         now,
		ExpiresAt:         user.Timestamp(now.Add(min(p.TTL, p.AbsoluteTTL))),
		AbsoluteExpiresAt: user.Timestamp(now.Add(p.AbsoluteTTL)),
		LastSeenAt:        now,
		AAL:               mfa.AAL1,
		Methods:           []string{mfa.MethodPassword},
	}
}

// MadeWith returns s as made with methods, at their assurance level.
func (s Session) MadeWith(methods []string) Session {
	s.Methods, s.AAL = methods, mfa.AAL(methods)
	return s
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

// Pending is a login whose password was right and whose second step is
// outstanding. Like a session, it is stored by the SHA-256 of a secret
// only the client holds (in the pending cookie). VerifiedHash is the
// password hash the first step verified (or read, for a sign-in through
// an identity provider): the session is made only while it is still the
// user's. Method is the first step's (mfa.MethodPassword, or
// mfa.MethodOIDC). Attempts counts the second steps tried.
type Pending struct {
	ID           []byte
	UserID       uuid.UUID
	VerifiedHash string
	Method       string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Attempts     int
	UserAgent    string
	IP           string
}

// pendingPrefix marks the secret of a pending login: the session cookie
// carries either kind, and a pending one authorizes only the second step.
// It is inside the signed token, so no client can add or remove it.
const pendingPrefix = "mfa."

// NewPendingSecret returns a fresh secret for a pending login and the id
// stored for it.
func NewPendingSecret() (secret string, id []byte) {
	secret, id = NewSecret()
	return pendingPrefix + secret, id
}

// IsPending reports whether a secret is a pending login's.
func IsPending(secret string) bool { return strings.HasPrefix(secret, pendingPrefix) }

// PendingIDFromSecret returns the stored id of a pending login's secret.
func PendingIDFromSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, pendingPrefix)
	if !ok {
		return nil, ErrMalformedSecret
	}
	return IDFromSecret(rest)
}
