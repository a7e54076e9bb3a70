package enabletotp

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/signin"
)

// Store counts the code in the login windows, reads the authenticator set
// up and the factors, enables it and stores the recovery codes, and
// records the events, in one transaction.
type Store interface {
	auth.AttemptStore   // for the guard's reservation
	auth.AssuranceStore // for auth.CheckAssurance
	signin.EnrollStore  // for signin.Rules.Enroll
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	TOTP(ctx context.Context, userID uuid.UUID) (mfa.TOTP, bool, error)
	EnableTOTP(ctx context.Context, userID uuid.UUID, sealed, resealed []byte, step int64, now time.Time) (bool, error)
}

// Cookies sets the session cookie a first factor re-issues.
type Cookies interface {
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
}

// Keys open the secret (sealing it again under the current key) and
// seal recovery codes.
type Keys interface {
	mfa.Sealer
	SealRecoveryCode(userID uuid.UUID, code string) mfa.StoredCode
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
