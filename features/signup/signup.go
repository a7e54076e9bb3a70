// Package signup registers a new account with the user role.
package signup

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor signs users up.
type Interactor struct {
	store          Store
	hasher         Hasher
	minPasswordLen int
	now            func() time.Time
}

// New returns the interactor.
func New(store Store, hasher Hasher, minPasswordLen int, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, minPasswordLen: minPasswordLen, now: now}
}

// Input is what a new user chooses.
type Input struct {
	Username string
	Password string
}

// Execute creates an active account with the user role.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error) {
	if actor.Authenticated() {
		return user.User{}, auth.ErrAlreadyAuthenticated
	}
	if err := user.CheckCredentials(in.Username, in.Password, i.minPasswordLen); err != nil {
		return user.User{}, err
	}
	hash, err := i.hasher.Hash(ctx, in.Password)
	if err != nil {
		return user.User{}, fmt.Errorf("sign up %s: %w", in.Username, err)
	}
	u := user.New(in.Username, hash, user.RoleUser, i.now())
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := i.store.InsertUser(ctx, u); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, u.CreatedAt, audit.UserSignedUp, uuid.Nil, u.ID, nil))
	})
	if err != nil {
		return user.User{}, fmt.Errorf("sign up: %w", err)
	}
	return u, nil
}
