package passkeylogin

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

// Store counts the ceremonies a client begins, keeps and takes them, finds the account a passkey names and
// its passkeys, records the passkey's use and stores the session (see
// signin) with its events.
type Store interface {
	auth.AttemptStore
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	InsertCeremony(ctx context.Context, c mfa.Ceremony) error
	TakeCeremony(ctx context.Context, id []byte) (mfa.Ceremony, error)
	UserIDByHandle(ctx context.Context, handle []byte) (uuid.UUID, error)
	UserByID(ctx context.Context, id uuid.UUID) (user.User, error)
	Passkeys(ctx context.Context, userID uuid.UUID) ([]mfa.Passkey, error)
	UsePasskey(ctx context.Context, p mfa.Passkey, oldCount uint32, now time.Time) (bool, error)
	InsertSessionIfCurrent(ctx context.Context, s session.Session, passwordHash string) (bool, error)
	DeleteOldestSessions(ctx context.Context, userID uuid.UUID, keep int) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// RelyingParty runs the discoverable assertion.
type RelyingParty interface {
	BeginPasskey() (json.RawMessage, mfa.Ceremony, error)
	FinishPasskey(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error)
	CeremonyOf(credential []byte) ([]byte, error)
	UserHandle(credential []byte) ([]byte, error)
	CredentialID(credential []byte) ([]byte, error)
}

// Cookies sets the session cookie.
type Cookies interface {
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
}
