// Package deleteaccount lets a logged-in user delete their own account,
// after their current password (and from a session made with their second
// factor, when they have one). The account goes with its sessions,
// factors, tokens and pending logins; the audit trail keeps the event
// (user.deleted, with the user id in its details: the trail's references
// to a deleted user become null), and a farewell notice goes to a verified
// address through the outbox. A super admin cannot delete themselves: the
// service must keep the account that manages it.
package deleteaccount

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Action is this check's details.action in reauthentication.failed.
const Action = "delete_account"

// Interactor deletes accounts.
type Interactor struct {
	store  Store
	hasher Hasher
	mailer Mailer
	guard  auth.Guard
	now    func() time.Time
}

// New returns the interactor; guard throttles the current-password check.
func New(store Store, hasher Hasher, mailer Mailer, guard auth.Guard, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, guard: guard, now: now}
}

// Input is the caller's current password and address.
type Input struct {
	CurrentPassword string
	ClientIP        string
}

// Execute checks the current password and deletes the caller's account,
// with everything that is theirs, in one transaction that also records
// user.deleted and queues the farewell notice.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) error {
	if !actor.Authenticated() {
		return auth.ErrNotAuthenticated
	}
	// Refused before the password is checked, so that it costs no try.
	if actor.User.Role == user.RoleSuperAdmin {
		return fmt.Errorf("delete account of a super admin: %w", auth.ErrForbidden)
	}
	if in.CurrentPassword == "" {
		return apperr.Invalid(apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	u, now := actor.User, i.now()
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	err = r.Change(ctx, func(ctx context.Context) error {
		// The event first, while the user it names exists; the deletion
		// then nulls its references, and details keep who it was.
		e := audit.New(ctx, now, audit.UserDeleted, u.ID, u.ID, map[string]any{"user_id": u.ID.String()})
		if err := i.store.RecordEvent(ctx, e); err != nil {
			return err
		}
		if notice, ok := mail.AccountDeleted(u); ok {
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		return i.store.DeleteUser(ctx, u.ID)
	})
	if err != nil {
		return fmt.Errorf("delete account of %s: %w", u.Username, err)
	}
	return nil
}
