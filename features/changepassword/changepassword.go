// Package changepassword lets users change their own password. Every
// session of the user ends, and the caller gets a fresh one.
package changepassword

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor changes passwords.
type Interactor struct {
	store          Store
	hasher         Hasher
	mailer         Mailer
	signIn         signin.Rules
	guard          auth.Guard
	minPasswordLen int
	now            func() time.Time
}

// New returns the interactor; signIn re-issues the caller's session, guard throttles current-password checks in
// the login windows.
func New(store Store, hasher Hasher, mailer Mailer, signIn signin.Rules, guard auth.Guard, minPasswordLen int, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, signIn: signIn, guard: guard, minPasswordLen: minPasswordLen, now: now}
}

// Input is the current password and the new one, and the client the new
// session is recorded for.
type Input struct {
	CurrentPassword string
	NewPassword     string
	UserAgent       string
	ClientIP        string
}

// Action is this check's details.action in reauthentication.failed.
const Action = "change_password"

// Result is the caller's new session and its secret.
type Result struct {
	Session session.Session
	Secret  string
}

// Execute checks the current password (throttled and audited like every
// re-authentication), stores the new one, ends every session of the user
// and starts a new one for the caller, all in one transaction that stores
// nothing if the password changed since it was checked.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error) {
	if !actor.Authenticated() {
		return Result{}, auth.ErrNotAuthenticated
	}
	var fields []apperr.FieldError
	if in.CurrentPassword == "" {
		fields = append(fields, apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	if err := user.CheckPassword(in.NewPassword, i.minPasswordLen); err != nil {
		fields = append(fields, apperr.FieldError{Field: "new_password", Message: err.Error()})
	}
	if len(fields) > 0 {
		return Result{}, apperr.Invalid(fields...)
	}
	u, now := actor.User, i.now()
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return Result{}, fmt.Errorf("change password: %w", err)
	}
	hash, err := i.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return Result{}, fmt.Errorf("change password: %w", r.Abandon(ctx, err))
	}
	var res Result
	err = r.Change(ctx, func(ctx context.Context) error {
		// Over the hash the current password was checked against (Change
		// holds the user's row while it is still theirs).
		replaced, err := i.store.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, hash, user.Timestamp(now))
		if err != nil {
			return err
		}
		if !replaced {
			return auth.ErrWrongPassword
		}
		// A recovery link sent before this change must not undo it.
		if err := i.store.VoidRecoveryTokens(ctx, u.ID, now); err != nil {
			return err
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.PasswordChanged, u.ID, u.ID, nil)); err != nil {
			return err
		}
		if notice, ok := mail.PasswordChanged(u, "by you"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		// Every session ends; the caller's new one is as strong as the
		// one it replaces.
		res.Session, res.Secret, err = i.signIn.Reissue(ctx, i.store, now, u.ID, actor.Methods, in.UserAgent, in.ClientIP, session.EndedByPassword)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("change password of %s: %w", u.Username, err)
	}
	return res, nil
}
