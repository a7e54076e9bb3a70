package login

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Users finds the user and their second factors, and upgrades an old
// password hash, only while it is the one verified.
type Users interface {
	UserByUsername(ctx context.Context, username string) (user.User, error)
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	RehashPassword(ctx context.Context, userID uuid.UUID, old, hash string) (bool, error)
}

// Sessions stores the new session if the user is still active with the
// password just verified (or the pending login of a user with a second
// factor), and ends the user's oldest sessions past the limit.
type Sessions interface {
	InsertSessionIfCurrent(ctx context.Context, s session.Session, passwordHash string) (bool, error)
	InsertPendingLogin(ctx context.Context, p session.Pending) error
	DeleteOldestSessions(ctx context.Context, userID uuid.UUID, keep int) (int, error)
}

// Throttle counts login attempts per username and per client (see
// auth.Guard).
type Throttle interface {
	auth.AttemptStore
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
