// Package createuser lets admins create accounts with a role below their own.
package createuser

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor creates users.
type Interactor struct {
	store  Store
	hasher Hasher
	mailer Mailer
	verify onetime.Verifications
	rules  user.AccountRules
	now    func() time.Time
}

// New returns the interactor; verify sends the message to a new address.
func New(store Store, hasher Hasher, mailer Mailer, verify onetime.Verifications, rules user.AccountRules, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, verify: verify, rules: rules, now: now}
}

// Input is the new account; Email is optional unless the rules require it.
type Input struct {
	Username string
	Password string
	Email    string
	Role     string
}

// Execute creates an active user with the given role, which must be below
// the actor's: admins create users, super admins create users and admins.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error) {
	if err := auth.Require(actor, user.RoleAdmin); err != nil {
		return user.User{}, err
	}
	var fields []apperr.FieldError
	if err := i.rules.Check(in.Username, in.Password, in.Email); err != nil {
		e, _ := apperr.As(err)
		fields = e.Fields
	}
	role, err := user.ParseRole(in.Role)
	if err != nil {
		fields = append(fields, apperr.FieldError{Field: "role", Message: err.Error()})
	}
	if len(fields) > 0 {
		return user.User{}, apperr.Invalid(fields...)
	}
	if !auth.CanAssign(actor.User.Role, role) {
		return user.User{}, fmt.Errorf("create %s as %s: %w", role, actor.User.Role, auth.ErrForbidden)
	}
	return i.create(ctx, actor.User.ID, in, role, map[string]any{"role": string(role)})
}

// FromConsole creates a user of any role for the operator at the console
// (`cleanslice users create`, the way to the first super admin): the
// operator holds the database, so no actor is checked or recorded
// (details.via is "cli").
func (i *Interactor) FromConsole(ctx context.Context, in Input) (user.User, error) {
	var fields []apperr.FieldError
	if err := i.rules.Check(in.Username, in.Password, in.Email); err != nil {
		e, _ := apperr.As(err)
		fields = e.Fields
	}
	role, err := user.ParseRole(in.Role)
	if err != nil {
		fields = append(fields, apperr.FieldError{Field: "role", Message: err.Error()})
	}
	if len(fields) > 0 {
		return user.User{}, apperr.Invalid(fields...)
	}
	return i.create(ctx, uuid.Nil, in, role, map[string]any{"role": string(role), "via": "cli"})
}

// create hashes the password and stores the user, its verification
// message (within onetime.Verifications' limits) and its user.created
// event in one transaction.
func (i *Interactor) create(ctx context.Context, actorID uuid.UUID, in Input, role user.Role, details map[string]any) (user.User, error) {
	hash, err := i.hasher.Hash(ctx, in.Password)
	if err != nil {
		return user.User{}, fmt.Errorf("create user: %w", err)
	}
	u := user.New(in.Username, hash, role, i.now())
	u.Email = in.Email
	var message onetime.Verification
	if u.Email != "" {
		// An address others have sent too many messages to is still
		// taken, without a message.
		if message, err = i.verify.Reserve(ctx, i.store, u.CreatedAt, u.ID, u.Email); err != nil {
			return user.User{}, fmt.Errorf("create user: %w", err)
		}
	}
	err = i.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := i.store.InsertUser(ctx, u); err != nil {
			return err
		}
		if err := message.Send(ctx, i.store, i.mailer, u, u.CreatedAt); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, u.CreatedAt, audit.UserCreated, actorID, u.ID, details))
	})
	if err != nil {
		return user.User{}, fmt.Errorf("create user: %w", message.Abandon(ctx, err))
	}
	return u, nil
}
