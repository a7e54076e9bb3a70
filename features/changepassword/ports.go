package changepassword

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/signin"
)

// Store counts the check in the attempt windows, changes the password and
// the sessions, and records the events, in one transaction.
type Store interface {
	auth.ReauthStore    // for guard.Reauthenticate and its Change
	signin.ReissueStore // for signin.Rules.Reissue
	ReplacePasswordHash(ctx context.Context, userID uuid.UUID, old, hash string, updatedAt time.Time) (bool, error)
	VoidRecoveryTokens(ctx context.Context, userID uuid.UUID, now time.Time) error
}

// Hasher checks the current password and hashes the new one.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
	Hash(ctx context.Context, password string) (string, error)
}

// Cookies sets the new session cookie.
type Cookies interface {
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
