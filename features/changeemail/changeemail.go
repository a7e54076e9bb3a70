// Package changeemail lets a user set, change or remove their email
// address, with their current password. The new address starts unverified
// and gets a verification message (within onetime.Verifications' limits:
// past the account's, 429 and nothing changes; past the address's, the
// change without a message); the old one, if it was verified, gets a
// notice; every token sent to the old address is void. An address that
// another account has verified is taken; one that others only claim is
// not.
package changeemail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mail"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Action is this check's details.action in reauthentication.failed.
const Action = "change_email"

// Interactor changes addresses.
type Interactor struct {
	store    Store
	hasher   Hasher
	mailer   Mailer
	verify   onetime.Verifications
	guard    auth.Guard
	required bool // auth.require_email: an address cannot be removed
	now      func() time.Time
}

// New returns the interactor; verify sends the message to a new address.
func New(store Store, hasher Hasher, mailer Mailer, verify onetime.Verifications, guard auth.Guard, required bool, now func() time.Time) *Interactor {
	return &Interactor{store: store, hasher: hasher, mailer: mailer, verify: verify, guard: guard, required: required, now: now}
}

// Input is the new address ("" removes it), the current password, and the
// client asking.
type Input struct {
	Email           string
	CurrentPassword string
	ClientIP        string
}

// Execute changes the caller's address and returns the user as it is now.
func (i *Interactor) Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error) {
	if !actor.Authenticated() {
		return user.User{}, auth.ErrNotAuthenticated
	}
	var fields []apperr.FieldError
	switch {
	case in.Email == "" && i.required:
		fields = append(fields, apperr.FieldError{Field: "email", Message: "an email address is required on this service; give the new one"})
	case in.Email != "":
		if err := user.CheckEmail(in.Email); err != nil {
			fields = append(fields, apperr.FieldError{Field: "email", Message: err.Error()})
		}
	}
	if in.CurrentPassword == "" {
		fields = append(fields, apperr.FieldError{Field: "current_password", Message: "current_password is required"})
	}
	if len(fields) > 0 {
		return user.User{}, apperr.Invalid(fields...)
	}
	u, now := actor.User, user.Timestamp(i.now())
	var message onetime.Verification
	if in.Email != "" && in.Email != u.Email {
		// Counted before the password is checked, so that a full window
		// (429) costs no hash; given back when the change is not made.
		var err error
		if message, err = i.verify.Reserve(ctx, i.store, now, u.ID, in.Email); err != nil {
			return user.User{}, fmt.Errorf("change email: %w", err)
		}
	}
	r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)
	if err != nil {
		return user.User{}, fmt.Errorf("change email: %w", message.Abandon(ctx, err))
	}
	if in.Email == u.Email {
		// Nothing changes; the right password still settles its attempt.
		if err := r.Change(ctx, func(context.Context) error { return nil }); err != nil {
			return user.User{}, fmt.Errorf("change email: %w", err)
		}
		return u, nil
	}
	changed := u
	changed.Email, changed.EmailVerifiedAt, changed.UpdatedAt = in.Email, time.Time{}, now
	err = r.Change(ctx, func(ctx context.Context) error {
		replaced, err := i.store.ReplaceEmail(ctx, u, in.Email, now)
		if err != nil {
			return err
		}
		if !replaced {
			return auth.ErrWrongPassword
		}
		if err := i.store.VoidTokens(ctx, u.ID, now); err != nil {
			return err
		}
		if err := message.Send(ctx, i.store, i.mailer, changed, now); err != nil {
			return err
		}
		if u.EmailVerified() && !strings.EqualFold(u.Email, in.Email) {
			notice := mail.Message{Template: "email_changed", To: u.Email,
				Fields: map[string]string{"username": u.Username, "new_address": in.Email}}
			if err := i.mailer.Queue(ctx, notice); err != nil {
				return err
			}
		}
		var details map[string]any
		if in.Email == "" {
			details = map[string]any{"removed": true}
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.EmailChanged, u.ID, u.ID, details))
	})
	if err != nil {
		return user.User{}, fmt.Errorf("change email: %w", message.Abandon(ctx, err))
	}
	return changed, nil
}
