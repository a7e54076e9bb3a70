package onetime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// The limits of verification messages (SPEC 4b).
const (
	// VerificationsPerUser is how many verification messages one account
	// may be sent per VerificationWindow, whatever asks for them: signup,
	// creation, every change of address, every resend.
	VerificationsPerUser = 5
	// VerificationsPerAddress is how many verification messages one
	// address may be sent per VerificationWindow, whoever asks.
	VerificationsPerAddress = 5
	// VerificationWindow is the window of both.
	VerificationWindow = time.Hour
	// ResendInterval is how long after the last verification message to
	// an account a resend waits.
	ResendInterval = time.Minute
)

// ErrTooManyVerifications is the answer to a change of address or a resend
// past the account's limit: nothing changes; retry after the wait.
func ErrTooManyVerifications(retryAfter time.Duration) *apperr.Error {
	return &apperr.Error{Kind: apperr.KindTooManyRequests, Code: "too_many_attempts",
		Message: "too many verification messages were sent to your account; try again later", RetryAfter: retryAfter}
}

// errResendTooSoon: a resend within a minute of the last message.
func errResendTooSoon(retryAfter time.Duration) *apperr.Error {
	return &apperr.Error{Kind: apperr.KindTooManyRequests, Code: "too_many_attempts",
		Message: "a verification message was sent less than a minute ago; check your mail", RetryAfter: retryAfter}
}

// errAddressFull: the address's window is full.
func errAddressFull(retryAfter time.Duration) *apperr.Error {
	return &apperr.Error{Kind: apperr.KindTooManyRequests, Code: "too_many_attempts",
		Message: "too many messages were sent to this address; try again later", RetryAfter: retryAfter}
}

// Verifications sends the messages that verify addresses, within their
// limits. Every slice that sets an address (signup, creation, a change) or
// sends its message again reserves the message before its transaction
// (Reserve, ReserveResend) and sends it in that transaction (Send), so
// that no way around the limits exists.
type Verifications struct {
	Links Links
	// Key keys the address windows (HMAC-SHA256), like the recovery cap's:
	// no address is stored in the clear.
	Key []byte
}

// VerificationStore is what a verification message needs from the store:
// the attempt windows its limits count in, and the token it carries.
type VerificationStore interface {
	auth.AttemptStore
	TokenStore
}

// Verification is one verification message, counted before the change
// that sends it.
type Verification struct {
	v       Verifications
	email   string
	send    bool           // the address's window had room
	counted []auth.Attempt // what Abandon gives back
}

// Reserve counts a message to email, the address the account userID is
// being given (at signup, creation or a change), before the change is
// made: in the account's window (full: ErrTooManyVerifications, nothing
// counted, and the change must not be made) and in the address's. A full
// address window is no error: the change goes on and Send sends nothing,
// so that nobody floods an inbox by giving its address to accounts (a
// resend later sends one). Abandon gives the counts back when the change
// fails.
func (v Verifications) Reserve(ctx context.Context, store auth.AttemptStore, now time.Time, userID uuid.UUID, email string) (Verification, error) {
	return v.reserve(ctx, store, now, userID, email, false)
}

// ReserveResend is Reserve for a message asked for again, to the address
// the account has: it also waits ResendInterval after the last message to
// the account, and a full address window refuses it too (429), since
// nothing else would happen.
func (v Verifications) ReserveResend(ctx context.Context, store auth.AttemptStore, now time.Time, userID uuid.UUID, email string) (Verification, error) {
	return v.reserve(ctx, store, now, userID, email, true)
}

func (v Verifications) reserve(ctx context.Context, store auth.AttemptStore, now time.Time, userID uuid.UUID, email string, resend bool) (Verification, error) {
	r := Verification{v: v, email: email}
	if resend {
		a, err := auth.Reserve(ctx, store, now, ResendInterval, errResendTooSoon, auth.Limit{Key: resendKey(userID), Max: 1})
		if err != nil {
			return Verification{}, err
		}
		r.counted = append(r.counted, a)
	}
	a, err := auth.Reserve(ctx, store, now, VerificationWindow, ErrTooManyVerifications, auth.Limit{Key: accountKey(userID), Max: VerificationsPerUser})
	if err != nil {
		return Verification{}, r.Abandon(ctx, err)
	}
	r.counted = append(r.counted, a)
	a, err = auth.Reserve(ctx, store, now, VerificationWindow, errAddressFull, auth.Limit{Key: v.addressKey(email), Max: VerificationsPerAddress})
	if e, ok := apperr.As(err); ok && e.Kind == apperr.KindTooManyRequests && !resend {
		return r, nil // capped: the change goes on without a message
	}
	if err != nil {
		return Verification{}, r.Abandon(ctx, err)
	}
	r.counted, r.send = append(r.counted, a), true
	return r, nil
}

// Sends reports whether Send will send a message (the address's window
// had room).
func (r Verification) Sends() bool { return r.send }

// Send stores the token for u's address and queues the message that
// carries it, in the transaction in ctx, unless the address's window was
// full; a message sent starts the account's resend interval anew.
func (r Verification) Send(ctx context.Context, store VerificationStore, mailer Mailer, u user.User, now time.Time) error {
	if !r.send {
		return nil
	}
	key := resendKey(u.ID)
	if err := store.ClearAttempts(ctx, key); err != nil {
		return err
	}
	if _, err := store.ReserveAttempts(ctx, now, ResendInterval, []auth.Limit{{Key: key, Max: 1}}); err != nil {
		return err
	}
	t, m := r.v.Links.Verification(u, r.email, now)
	return Send(ctx, store, mailer, t, m)
}

// Abandon gives back every count Reserve made, when the change it was for
// fails, and returns cause.
func (r Verification) Abandon(ctx context.Context, cause error) error {
	for _, a := range r.counted {
		cause = a.Abandon(ctx, cause)
	}
	return cause
}

// The window keys: per account (its id), its resend interval, and per
// address (a keyed hash).
func accountKey(userID uuid.UUID) string { return "verification:user:" + userID.String() }
func resendKey(userID uuid.UUID) string  { return "verification:resend:" + userID.String() }
func (v Verifications) addressKey(email string) string {
	return auth.WindowKey(v.Key, "verification:address:", email)
}

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
