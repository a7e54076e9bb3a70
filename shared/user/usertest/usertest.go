// Package usertest is a hand-written fake of the users table for the unit
// tests of the slices where an admin acts on a target user (grantadmin,
// revokeadmin, reactivateuser): users by lower-case name, and the calls
// made, each marked when it ran outside the transaction.
package usertest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Users is the fake store: the trail, the users by lower-case name, and
// the calls made ("lock NAME", "set role ROLE", "set active BOOL"; " outside
// tx" appended to one made outside WithinTx).
type Users struct {
	audittest.Trail
	Users map[string]user.User
	Calls []string
	inTx  bool
}

// WithinTx runs fn as the transaction (the trail's: events recorded by a
// failed fn are dropped).
func (f *Users) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	f.inTx = true
	defer func() { f.inTx = false }()
	return f.Trail.WithinTx(ctx, fn)
}

func (f *Users) record(call string) {
	if !f.inTx {
		call += " outside tx"
	}
	f.Calls = append(f.Calls, call)
}

// UserByUsernameForUpdate finds a user by name, ignoring case.
func (f *Users) UserByUsernameForUpdate(_ context.Context, name string) (user.User, error) {
	f.record("lock " + name)
	u, ok := f.Users[strings.ToLower(name)]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

// SetUserRole sets a user's role and updated_at.
func (f *Users) SetUserRole(_ context.Context, id uuid.UUID, role user.Role, at time.Time) error {
	f.record("set role " + string(role))
	f.update(id, func(u *user.User) { u.Role, u.UpdatedAt = role, at })
	return nil
}

// SetUserActive sets whether a user is active, and updated_at.
func (f *Users) SetUserActive(_ context.Context, id uuid.UUID, active bool, at time.Time) error {
	f.record(fmt.Sprintf("set active %t", active))
	f.update(id, func(u *user.User) { u.IsActive, u.UpdatedAt = active, at })
	return nil
}

func (f *Users) update(id uuid.UUID, change func(u *user.User)) {
	for k, u := range f.Users {
		if u.ID == id {
			change(&u)
			f.Users[k] = u
		}
	}
}
