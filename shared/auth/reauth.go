package auth

import (
	"context"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// ReauthStore is what a current-password check needs from the store: the
// attempt windows, and the trail for a wrong password.
type ReauthStore interface {
	AttemptStore
	RecordEvent(ctx context.Context, e audit.Event) error
}

// Verifier checks a password against a stored hash.
type Verifier interface {
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// CheckCurrentPassword is every check of a logged-in user's current
// password (a password change; an address or second-factor change): it
// counts in the same windows as logins (ErrTooManyAttempts while they are
// full, before any verification), and a wrong password is recorded as
// reauthentication.failed with details.action and answered ErrWrongPassword.
// The password is checked against actor.User.PasswordHash, the hash read
// when the request was authenticated: the change it allows must store
// itself only while that hash is still the stored one (credentials are
// current or worthless), and settle the returned attempt in its
// transaction (Attempt.Succeeded).
func (g Guard) CheckCurrentPassword(ctx context.Context, store ReauthStore, hasher Verifier, now time.Time, actor Actor, password, ip, action string) (Attempt, error) {
	a, err := g.Reserve(ctx, store, now, actor.User.Username, ip)
	if err != nil {
		return Attempt{}, err
	}
	ok, err := hasher.Verify(ctx, actor.User.PasswordHash, password)
	if err != nil {
		return Attempt{}, a.Abandon(ctx, err)
	}
	if !ok {
		e := audit.New(ctx, now, audit.ReauthenticationFailed, actor.User.ID, actor.User.ID, map[string]any{"action": action})
		if err := store.RecordEvent(ctx, e); err != nil {
			return Attempt{}, err
		}
		return Attempt{}, ErrWrongPassword
	}
	return a, nil
}

// PasswordLocker locks a user's row while the user still has a password
// hash, and reports whether they had it.
type PasswordLocker interface {
	LockUserWithPassword(ctx context.Context, userID uuid.UUID, passwordHash string) (bool, error)
}

// Reauthenticated is called first in the transaction of a change that a
// CheckCurrentPassword allowed and that touches no password itself (a
// second-factor change): the change goes on only while the password
// checked is still the user's, under the user's row lock (a reset or
// recovery since then wins: ErrWrongPassword), and the attempt is settled
// with the change.
func Reauthenticated(ctx context.Context, store PasswordLocker, actor Actor, a Attempt) error {
	ok, err := store.LockUserWithPassword(ctx, actor.User.ID, actor.User.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongPassword
	}
	return a.Succeeded(ctx)
}
