package login

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store finds the user and their second factors, upgrades an old password
// hash only while it is the one verified, and stores the session (see
// signin) or, for a user with a second factor, the pending login, with
// the login's events, in one transaction.
type Store interface {
	auth.AttemptStore // for the guard's reservation and its settling
	signin.Store      // for signin.Rules.Start
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	UserByUsername(ctx context.Context, username string) (user.User, error)
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	RehashPassword(ctx context.Context, userID uuid.UUID, old, hash string) (bool, error)
	InsertPendingLogin(ctx context.Context, p session.Pending) error
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

// Outcomes counts login attempts by outcome.
type Outcomes interface {
	LoginOutcome(outcome string)
}
