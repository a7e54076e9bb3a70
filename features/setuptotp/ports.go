package setuptotp

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Store checks the current password (its windows, its trail), reads the
// factors and keeps the new secret.
type Store interface {
	auth.ReauthStore // for guard.Reauthenticate and its Change
	SetUpTOTP(ctx context.Context, userID uuid.UUID, sealed []byte, now time.Time) (bool, error)
}

// Hasher checks the current password.
type Hasher interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// Keys seal the secret for its user.
type Keys interface {
	Seal(userID uuid.UUID, secret string) []byte
}

// Authenticators make a fresh secret and the otpauth:// URI an app scans.
type Authenticators interface {
	NewSecret(account string) (secret, uri string, err error)
}
