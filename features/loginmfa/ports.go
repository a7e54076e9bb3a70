package loginmfa

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

// Pending counts a pending login's second steps and ends it.
type Pending interface {
	CountPendingAttempt(ctx context.Context, id []byte, now time.Time, max int) (session.Pending, error)
	DeletePendingLogin(ctx context.Context, id []byte) (bool, error)
}

// Users finds the pending login's user.
type Users interface {
	UserByID(ctx context.Context, id uuid.UUID) (user.User, error)
}

// Factors reads the user's authenticator and uses up codes: a TOTP step
// only after the last accepted one, a recovery code only once.
type Factors interface {
	TOTP(ctx context.Context, userID uuid.UUID) (mfa.TOTP, bool, error)
	AcceptTOTPStep(ctx context.Context, userID uuid.UUID, step int64, resealed []byte) (bool, error)
	UseRecoveryCode(ctx context.Context, userID uuid.UUID, digests [][]byte) (bool, error)
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
}

// Sessions stores the session while the user is active with the password
// the first step verified, and ends the user's oldest past the limit.
type Sessions interface {
	InsertSessionIfCurrent(ctx context.Context, s session.Session, passwordHash string) (bool, error)
	DeleteOldestSessions(ctx context.Context, userID uuid.UUID, keep int) (int, error)
}

// Throttle is the login windows the codes count in.
type Throttle interface {
	auth.AttemptStore
}

// Trail records the step's events in the transaction of its writes.
type Trail interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Keys open TOTP secrets (sealing them again under the current key) and
// give a recovery code's digests under every key generation.
type Keys interface {
	mfa.Sealer
	RecoveryDigests(code string) [][]byte
}

// Cookies reads the pending login's cookie and sets the session's.
type Cookies interface {
	Read(r *http.Request) (secret string, resign bool, err error)
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
	Clear(w http.ResponseWriter)
}
