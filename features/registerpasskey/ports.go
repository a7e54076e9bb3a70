package registerpasskey

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/signin"
)

// Store checks the current password (its windows, its trail), keeps and
// takes ceremonies, reads the user's handle, passkeys and factors, and
// stores the new passkey and recovery codes with their events.
type Store interface {
	auth.ReauthStore   // for guard.Reauthenticate and its Change
	mfa.AccountStore   // for mfa.AccountOf
	mfa.CeremonyStore  // for mfa.TakeCeremony
	signin.EnrollStore // for signin.Rules.Enroll
	InsertCeremony(ctx context.Context, c mfa.Ceremony) error
	InsertPasskey(ctx context.Context, p mfa.Passkey) error
}

// Cookies sets the session cookie a first factor re-issues.
type Cookies interface {
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// RelyingParty runs the registration ceremony.
type RelyingParty interface {
	BeginRegistration(a mfa.Account) (json.RawMessage, mfa.Ceremony, error)
	FinishRegistration(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error)
	CeremonyOf(credential []byte) ([]byte, error)
}

// Keys seal recovery codes.
type Keys interface {
	SealRecoveryCode(userID uuid.UUID, code string) mfa.StoredCode
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
