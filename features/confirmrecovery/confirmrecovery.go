// Package confirmrecovery sets a new password with the token of a recovery
// message. It ends every session of the user, voids their other recovery
// links, clears their login throttle and marks the address verified (the
// mail proved it); it never logs in. A login racing with it loses (its
// session is stored only over the password it verified). The token is
// looked up before the new password is hashed, so an unusable one costs
// no hash, and each unusable one counts in the client's login window (a
// guess of a secret, like a wrong password: 429 once it is full).
package confirmrecovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor recovers accounts.
type Interactor struct {
	store          Store
	hasher         Hasher
	mailer         Mailer
	guard          auth.Guard
	minPasswordLen int
	now            func() time.Time
}

// New returns the interactor; guard names the login throttle's windows.
func New(store Store, hasher Hasher, mailer Mailer, guard auth.Guard, minPasswordLen int, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, guard: guard, minPasswordLen: minPasswordLen, now: now}
}

// Input is the token, the new password and the client asking.
type Input struct {
	Token       string
	NewPassword string
	ClientIP    string
}

// Execute sets the new password. Every unusable token (or one of an
// inactive account) is onetime.ErrInvalid.
func (i *Interactor) Execute(ctx context.Context, in Input) error {
	var fields []apperr.FieldError
	if in.Token == "" {
		fields = append(fields, apperr.FieldError{Field: "token", Message: "token is required"})
	}
	if err := user.CheckPassword(in.NewPassword, i.minPasswordLen); err != nil {
		fields = append(fields, apperr.FieldError{Field: "new_password", Message: err.Error()})
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields...)
	}
	now := user.Timestamp(i.now())
	// Counted before the token is looked up (exact under concurrency, as
	// a password attempt); an unusable token stays counted, a usable one
	// is given back with the change, and a fault gives it back.
	attempt, err := auth.Reserve(ctx, i.store, now, i.guard.Window, auth.ErrTooManyAttempts, i.guard.ClientLimit(in.ClientIP))
	if err != nil {
		return fmt.Errorf("confirm recovery: %w", err)
	}
	if err := i.usable(ctx, in.Token, now); err != nil {
		return fmt.Errorf("confirm recovery: %w", settle(ctx, attempt, err))
	}
	hash, err := i.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return fmt.Errorf("confirm recovery: %w", attempt.Abandon(ctx, err))
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		t, u, err := onetime.Redeem(ctx, i.store, in.Token, onetime.Recovery, now)
		if err != nil {
			return err
		}
		if !u.IsActive {
			return onetime.ErrInvalid
		}
		if err := i.store.UpdatePasswordHash(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := i.store.VoidRecoveryTokens(ctx, u.ID, now); err != nil {
			return err
		}
		ended, err := i.store.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := i.store.ClearAttempts(ctx, i.guard.UserKey(u.Username)); err != nil {
			return err
		}
		if !u.EmailVerified() {
			if err := onetime.Verified(ctx, i.store, u.ID, t.Email, now); err != nil {
				return err
			}
			u.EmailVerifiedAt = now
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.PasswordRecovered, uuid.Nil, u.ID, nil)); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, uuid.Nil, u.ID, session.EndedByRecovery, ended); ok {
			if err := i.store.RecordEvent(ctx, e); err != nil {
				return err
			}
		}
		// Recovery is what follows a lost or stolen credential: the keys
		// made with the old one go too.
		if _, err := apikey.RevokeAll(ctx, i.store, now, uuid.Nil, u.ID, apikey.RevokedByRecovery); err != nil {
			return err
		}
		if notice, ok := mail.PasswordChanged(u, "with a recovery link"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		return attempt.Succeeded(ctx) // a usable token is no guess
	})
	if err != nil {
		return fmt.Errorf("confirm recovery: %w", settle(ctx, attempt, err))
	}
	return nil
}

// usable returns onetime.ErrInvalid unless token is a recovery token that
// may be used now, of an active account: read without a lock, before any
// hash (Redeem checks it again, in the change's transaction).
func (i *Interactor) usable(ctx context.Context, token string, now time.Time) error {
	_, u, err := onetime.Find(ctx, i.store, token, onetime.Recovery, now)
	if err != nil {
		return err
	}
	if !u.IsActive {
		return onetime.ErrInvalid
	}
	return nil
}

// settle ends the attempt of a confirmation that failed with cause: an
// unusable token stays counted; anything else (a fault) is given back.
func settle(ctx context.Context, attempt auth.Attempt, cause error) error {
	if errors.Is(cause, onetime.ErrInvalid) {
		return cause
	}
	return attempt.Abandon(ctx, cause)
}
