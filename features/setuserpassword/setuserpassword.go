// Package setuserpassword lets admins reset the password of an account below
// their role. Every session of the target ends in the same transaction.
package setuserpassword

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor resets passwords.
type Interactor struct {
	store          Store
	metrics        Metrics
	hasher         Hasher
	minPasswordLen int
	now            func() time.Time
}

// New returns the interactor.
func New(store Store, hasher Hasher, metrics Metrics, minPasswordLen int, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, metrics: metrics, minPasswordLen: minPasswordLen, now: now}
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
	ended := 0
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		u, err := i.store.UserByUsernameForUpdate(ctx, target.Username)
		if err != nil {
			return err
		}
		if err := auth.CheckTarget(actor, u); err != nil {
			return err
		}
		if err := i.store.UpdatePasswordHash(ctx, u.ID, hash, user.Timestamp(i.now())); err != nil {
			return err
		}
		ended, err = i.store.DeleteUserSessions(ctx, u.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", in.Username, err)
	}
	i.metrics.SessionsEnded(session.EndedByPassword, ended)
	return nil
}
