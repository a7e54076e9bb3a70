package onetime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
)

// AddressStore is what marking an address verified needs from the store,
// in one transaction.
type AddressStore interface {
	SetEmailVerified(ctx context.Context, userID uuid.UUID, email string, now time.Time) error
	ClearEmailClaims(ctx context.Context, email string, owner uuid.UUID, now time.Time) ([]uuid.UUID, error)
	VoidTokens(ctx context.Context, userID uuid.UUID, now time.Time) error
	RecordEvent(ctx context.Context, e audit.Event) error
}

// ClaimCleared is details.reason of the user.email_changed event of an
// account whose unverified address another account verified.
const ClaimCleared = "verified_elsewhere"

// Verified records, in the transaction in ctx, that a message proved the
// address email to be userID's (a token sent to it was used): the address
// is marked verified, and every other account's unverified claim of it is
// cleared (their unused tokens void, each recorded as user.email_changed
// with details removed and reason ClaimCleared): an unverified address
// holds nothing against the account that proves it. When the address is
// no longer the user's, or another account has verified it meanwhile, the
// token that proved it is void: ErrInvalid.
func Verified(ctx context.Context, store AddressStore, userID uuid.UUID, email string, now time.Time) error {
	err := store.SetEmailVerified(ctx, userID, email, now)
	if errors.Is(err, user.ErrNotFound) || errors.Is(err, user.ErrEmailTaken) {
		return fmt.Errorf("verify %s: %w", userID, ErrInvalid)
	}
	if err != nil {
		return err
	}
	cleared, err := store.ClearEmailClaims(ctx, email, userID, now)
	if err != nil {
		return err
	}
	for _, id := range cleared {
		if err := store.VoidTokens(ctx, id, now); err != nil {
			return err
		}
		e := audit.New(ctx, now, audit.EmailChanged, uuid.Nil, id, map[string]any{"removed": true, "reason": ClaimCleared})
		if err := store.RecordEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
