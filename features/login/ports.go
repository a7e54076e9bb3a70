package login

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Users finds the user and upgrades an old password hash.
type Users interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
	UpdatePasswordHash(ctx context.Context, userID uuid.UUID, hash string, updatedAt time.Time) error
}

// Sessions stores the new session if the user is still active, and ends
// the user's oldest sessions past the limit.
type Sessions interface {
	InsertSessionIfActive(ctx context.Context, s session.Session) (bool, error)
	DeleteOldestSessions(ctx context.Context, userID uuid.UUID, keep int) (int, error)
}

// Throttle counts failed logins.
type Throttle interface {
	LoginFailures(ctx context.Context, userKey, ipKey string) (auth.FailureWindow, auth.FailureWindow, error)
	RecordLoginFailure(ctx context.Context, now time.Time, window time.Duration, keys ...string) error
	ClearLoginFailures(ctx context.Context, key string) error
}

// Hasher verifies passwords.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
	Hash(ctx context.Context, password string) (string, error)
	NeedsRehash(encoded string) bool
	Dummy() string
}

// Cookies sets the session cookie.
type Cookies interface {
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
}

// Trail records the attempt's events in the transaction of its writes.
type Trail interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Outcomes counts login attempts by outcome.
type Outcomes interface {
	LoginOutcome(outcome string)
}
