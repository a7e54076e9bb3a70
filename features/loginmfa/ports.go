package loginmfa

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Pending reads a pending login, counts its second steps and ends it.
type Pending interface {
	PendingLogin(ctx context.Context, id []byte, now time.Time) (session.Pending, error)
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

// Passkeys reads the user's passkeys and handle, keeps and takes
// ceremonies, and records a passkey's use (only over the counter read).
type Passkeys interface {
	WebAuthnHandle(ctx context.Context, userID uuid.UUID) ([]byte, error)
	Passkeys(ctx context.Context, userID uuid.UUID) ([]mfa.Passkey, error)
	InsertCeremony(ctx context.Context, c mfa.Ceremony) error
	TakeCeremony(ctx context.Context, id []byte) (mfa.Ceremony, error)
	UsePasskey(ctx context.Context, p mfa.Passkey, oldCount uint32, now time.Time) (bool, error)
}

// RelyingParty runs the passkey assertion.
type RelyingParty interface {
	BeginLogin(a mfa.Account) (json.RawMessage, mfa.Ceremony, error)
	FinishLogin(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error)
	CeremonyOf(credential []byte) ([]byte, error)
}

// Throttle is the login windows the second steps count in.
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
