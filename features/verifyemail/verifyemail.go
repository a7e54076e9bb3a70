// Package verifyemail confirms a user's address with the token that a
// verification message carried. Whoever holds the link may use it (the
// mail proves the address, not who clicks), once, before it expires, and
// only while the address is still the user's. Every other account's
// unverified claim of the address ends with it (onetime.Verified).
package verifyemail

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Interactor verifies addresses.
type Interactor struct {
	store Store
	now   func() time.Time
}

// New returns the interactor.
func New(store Store, now func() time.Time) *Interactor { return &Interactor{store: store, now: now} }

// Execute uses token: the address it was sent to is verified. Every
// unusable token is onetime.ErrInvalid.
func (i *Interactor) Execute(ctx context.Context, token string) error {
	if token == "" {
		return apperr.Invalid(apperr.FieldError{Field: "token", Message: "token is required"})
	}
	now := user.Timestamp(i.now())
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		t, u, err := onetime.Redeem(ctx, i.store, token, onetime.VerifyEmail, now)
		if err != nil {
			return err
		}
		if u.EmailVerified() {
			return nil // verified already (by another message): nothing changes
		}
		// Only while the address is still the one the token was sent to
		// (a change of address racing with this wins) and no other
		// account has verified it.
		if err := onetime.Verified(ctx, i.store, u.ID, t.Email, now); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.EmailVerified, uuid.Nil, u.ID, nil))
	})
	if err != nil {
		return fmt.Errorf("verify email: %w", err)
	}
	return nil
}
