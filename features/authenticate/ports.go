package authenticate

import (
	"context"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Store is the session and key storage this slice needs: it reads a
// session or a key with its user (users.second_factor included), ends an
// inactive user's leftover sessions (or keys) and records their end in one
// transaction, and counts refused keys.
type Store interface {
	auth.AttemptStore  // for auth.Reserve: refused keys
	apikey.RevokeStore // for apikey.RevokeAll: an inactive user's keys
	APIKeyWithUser(ctx context.Context, id uuid.UUID) (apikey.Key, user.User, error)
	UseAPIKey(ctx context.Context, id uuid.UUID, now time.Time, ip string, rehash []byte) error
	SessionWithUser(ctx context.Context, id []byte) (session.Session, user.User, error)
	ExtendSession(ctx context.Context, id []byte, expiresAt, lastSeenAt time.Time) error
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
	DeleteUserSessions(ctx context.Context, userID uuid.UUID) (int, error)
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Cookies reads and re-issues the session cookie. Read also says whether
// the cookie should be re-issued (signed with a secret that is no longer
// the current one).
type Cookies interface {
	Read(r *http.Request) (secret string, resign bool, err error)
	Absent(err error) bool
	Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error
	Clear(w http.ResponseWriter)
}
