// Package resetmfa is support's help for a user who lost their second
// factor: an admin removes every factor and recovery code of a user below
// their role, and every session, pending login and API key of that user
// ends, in one transaction. The user logs in with the password alone and enrolls
// again.
package resetmfa

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor removes second factors.
type Interactor struct {
	store  Store
	mailer Mailer
	now    func() time.Time
}

// New returns the interactor.
func New(store Store, mailer Mailer, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, now: now}
}

// Input names the target.
type Input struct {
	Username string
}

// Execute removes the target's factors, which must rank below the actor,
// and returns the target, with its API keys revoked. A user without
// factors, codes or keys is left as is and nothing is recorded (the reset
// is idempotent).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error) {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return user.User{}, err
	}
	if err := user.CheckUsername(in.Username); err != nil {
		return user.User{}, apperr.Invalid(apperr.FieldError{Field: "username", Message: err.Error()})
	}
	var out user.User
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		// The row lock orders the reset with the user's own enrollments
		// and logins (a session is stored under it).
		u, err := i.store.UserByUsernameForUpdate(ctx, in.Username)
		if err != nil {
			return err
		}
		if err := auth.CheckTarget(actor, u); err != nil {
			return err
		}
		out = u
		// A reset answers a lost (or taken) factor: the keys go, whatever
		// else the user has, and reactivating nothing revives them.
		if _, err := apikey.RevokeAll(ctx, i.store, i.now(), actor.User.ID, u.ID, apikey.RevokedByMFAReset); err != nil {
			return err
		}
		totp, err := i.store.DeleteTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		passkeys, err := i.store.DeletePasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		codes, err := i.store.DeleteRecoveryCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		if !totp && passkeys == 0 && codes == 0 {
			return nil
		}
		if err := i.store.DeleteUserPendingLogins(ctx, u.ID); err != nil {
			return err
		}
		ended, err := i.store.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		now := i.now()
		if notice, ok := mail.SecondFactorChanged(u, "an administrator removed every second factor and recovery code"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.MFAReset, actor.User.ID, u.ID, map[string]any{"recovery_codes": codes, "totp": totp, "passkeys": passkeys})); err != nil {
			return err
		}
		if e, ok := audit.SessionsEnded(ctx, now, actor.User.ID, u.ID, session.EndedByMFAReset, ended); ok {
			return i.store.RecordEvent(ctx, e)
		}
		return nil
	})
	if err != nil {
		return user.User{}, fmt.Errorf("reset second factors of %s: %w", in.Username, err)
	}
	return out, nil
}
