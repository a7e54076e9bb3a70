package oauthcallback

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/identity"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store spends the flow, finds the identity and the accounts it may
// belong to, and makes the sign-in's changes (an account, a link, a
// session or a pending login, their events and messages) in one
// transaction.
type Store interface {
	signin.Store              // for signin.Rules.Start
	onetime.VerificationStore // for the windows refused callbacks and signups count in, and a new address's message
	onetime.AddressStore      // for onetime.Verified
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	TakeFlow(ctx context.Context, stateHash []byte, now time.Time) (identity.Flow, error)
	IdentityBySubject(ctx context.Context, issuer, subject string) (identity.Identity, error)
	InsertIdentity(ctx context.Context, i identity.Identity) error
	UseIdentity(ctx context.Context, id uuid.UUID, email string, now time.Time) error
	UserByID(ctx context.Context, id uuid.UUID) (user.User, error)
	UserByIDForUpdate(ctx context.Context, id uuid.UUID) (user.User, error)
	SessionExists(ctx context.Context, id []byte) (bool, error)
	UserByEmail(ctx context.Context, email string) (user.User, error)
	UserByUsername(ctx context.Context, username string) (user.User, error)
	EmailClaimed(ctx context.Context, email string) (bool, error)
	InsertUser(ctx context.Context, u user.User) error
	Factors(ctx context.Context, userID uuid.UUID) (mfa.Factors, error)
	InsertPendingLogin(ctx context.Context, p session.Pending) error
}

// Providers are the configured identity providers and their token
// exchange (a network call: made before any transaction).
type Providers interface {
	Provider(id string) (identity.Provider, bool)
	Exchange(ctx context.Context, id, code, verifier, nonce string) (identity.Claims, error)
}

// Mailer queues a message in the transaction in ctx.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}

// Outcomes counts sign-ins by provider and result.
type Outcomes interface {
	OAuthSignIn(provider, result string)
}

// Cookies sets the session cookie (or a pending login's).
type Cookies interface {
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
}

// Binding reads and clears the cookie that binds a flow to its browser.
type Binding interface {
	Read(r *http.Request) string
	Clear(w http.ResponseWriter)
}
