package loginmfa

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store reads the pending login, counts its second steps and ends it,
// reads the user's factors and uses up a proof (a TOTP step only after the
// last accepted one, a recovery code once, a passkey only over the counter
// read), and stores the session with the step's events, in one
// transaction.
type Store interface {
	auth.AttemptStore // for the guard and the ceremony limit
	signin.Store      // for signin.Rules.Start
	mfa.AccountStore  // for mfa.AccountOf
	mfa.CeremonyStore // for mfa.TakeCeremony
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	PendingLogin(ctx context.Context, id []byte, now time.Time) (session.Pending, error)
	CountPendingAttempt(ctx context.Context, id []byte, now time.Time, max int) (session.Pending, error)
	DeletePendingLogin(ctx context.Context, id []byte) (bool, error)
	UserByID(ctx context.Context, id uuid.UUID) (user.User, error)
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	TOTP(ctx context.Context, userID uuid.UUID) (mfa.TOTP, bool, error)
	AcceptTOTPStep(ctx context.Context, userID uuid.UUID, step int64, resealed []byte) (bool, error)
	UseRecoveryCode(ctx context.Context, userID uuid.UUID, digests [][]byte) (bool, error)
	InsertCeremony(ctx context.Context, c mfa.Ceremony) error
	UsePasskey(ctx context.Context, p mfa.Passkey, oldCount uint32, now time.Time) (bool, error)
}

// RelyingParty runs the passkey assertion.
type RelyingParty interface {
	BeginLogin(a mfa.Account) (json.RawMessage, mfa.Ceremony, error)
	FinishLogin(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error)
	CeremonyOf(credential []byte) ([]byte, error)
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
