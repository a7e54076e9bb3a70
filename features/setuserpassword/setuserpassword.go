// Package setuserpassword lets admins reset the password of an account below
// their role. Every session of the target ends in the same transaction.
package setuserpassword

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor resets passwords.
type Interactor struct {
	store          Store
	hasher         Hasher
	mailer         Mailer
	minPasswordLen int
	now            func() time.Time
}

// New returns the interactor.
func New(store Store, hasher Hasher, mailer Mailer, minPasswordLen int, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, minPasswordLen: minPasswordLen, now: now}
}

// Input names the target and its new password.
type Input struct {
	Username string
	Password string
}

// Execute sets the target's password and ends its sessions. The target is
// checked before hashing (so refusals cost no hash) and again under the row
// lock (its role may have changed meanwhile).
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return err
	}
	if err := user.CheckCredentials(in.Username, in.Password, i.minPasswordLen); err != nil {
		return err
	}
	target, err := i.store.UserByUsernameForUpdate(ctx, in.Username) // no transaction: a plain read
	if err != nil {
		return fmt.Errorf("set password of %s: %w", in.Username, err)
	}
	if err := auth.CheckTarget(actor, target); err != nil {
		return err
	}
	hash, err := i.hasher.Hash(ctx, in.Password)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", in.Username, err)
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		u, err := i.store.UserByUsernameForUpdate(ctx, target.Username)
		if err != nil {
			return err
		}
		if err := auth.CheckTarget(actor, u); err != nil {
			return err
		}
		now := i.now()
		if err := i.store.UpdatePasswordHash(ctx, u.ID, hash, user.Timestamp(now)); err != nil {
			return err
		}
		// A recovery link sent before this change must not undo it.
		if err := i.store.VoidRecoveryTokens(ctx, u.ID, now); err != nil {
			return err
		}
		ended, err := i.store.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := i.store.RecordEvent(ctx, audit.New(ctx, now, audit.PasswordSet, actor.User.ID, u.ID, nil)); err != nil {
			return err
		}
		if notice, ok := mail.PasswordChanged(u, "by an administrator"); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		if e, ok := audit.SessionsEnded(ctx, now, actor.User.ID, u.ID, session.EndedByPassword, ended); ok {
			if err := i.store.RecordEvent(ctx, e); err != nil {
				return err
			}
		}
		// A key would outlive the credential it was made with.
		_, err = apikey.RevokeAll(ctx, i.store, now, actor.User.ID, u.ID, apikey.RevokedByPasswordSet)
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", in.Username, err)
	}
	return nil
}
