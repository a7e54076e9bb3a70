// Package requestrecovery sends a link to set a new password to a verified
// address of an active account, and answers every request the same way
// whatever the address: 202 {}. The request path checks the address's form
// and the client's limit, then stores the request, its address sealed: the
// same one write for every address, committed before the answer. A worker
// on every replica (Run) claims the stored requests and does their work,
// so neither the answer nor its timing can tell an unknown, unverified or
// inactive address from a valid one, and an answered request survives a
// crash of its replica.
package requestrecovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Limits bound requests per client (like logins) and messages per address.
type Limits struct {
	PerIP      int
	Window     time.Duration
	PerAddress int // messages per address and hour
	// Key keys the address windows (HMAC-SHA256): no address is stored in
	// the clear.
	Key []byte
}

// Interactor takes recovery requests, and does their work (Run).
type Interactor struct {
	store  Store
	sealer Sealer
	mailer Mailer
	links  onetime.Links
	limits Limits
	now    func() time.Time
}

// New returns the interactor.
func New(store Store, sealer Sealer, mailer Mailer, links onetime.Links, limits Limits, now func() time.Time) *Interactor {
	return &Interactor{store: store, sealer: sealer, mailer: mailer, links: links, limits: limits, now: now}
}

// Input is the address and the client asking.
type Input struct {
	Email    string
	ClientIP string
}

// Execute takes a request: the address must be well formed (422) and the
// client within its limit (429); the request is stored in the transaction
// that counts it, the same row whatever the address (its address sealed),
// for a worker to do: one commit. Once Execute returns nil the request is
// committed: it survives this replica.
func (i *Interactor) Execute(ctx context.Context, in Input) error {
	if in.Email == "" {
		return apperr.Invalid(apperr.FieldError{Field: "email", Message: "email is required"})
	}
	if err := user.CheckEmail(in.Email); err != nil {
		return apperr.Invalid(apperr.FieldError{Field: "email", Message: err.Error()})
	}
	now := i.now()
	limit := auth.Limit{Key: "recovery:ip:" + auth.ClientNetwork(in.ClientIP), Max: i.limits.PerIP}
	id := uuid.Must(uuid.NewV7())
	r := onetime.RecoveryRequest{ID: id, Email: i.sealer.Seal(id, in.Email), Source: audit.SourceFrom(ctx), CreatedAt: now}
	err := i.store.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := auth.Reserve(ctx, i.store, now, i.limits.Window, auth.ErrTooManyAttempts, limit); err != nil {
			return err
		}
		return i.store.InsertRecoveryRequest(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("request recovery: %w", err)
	}
	return nil
}

// process sends a recovery message, in the transaction in ctx, when email
// is the verified address of an active account and the address's hourly
// cap allows it; otherwise it does nothing. Each sent message is recorded
// as recovery.requested.
func (i *Interactor) process(ctx context.Context, email string) error {
	u, err := i.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, user.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !u.IsActive || !u.EmailVerified():
		return nil
	}
	now := i.now()
	limit := auth.Limit{Key: auth.WindowKey(i.limits.Key, "recovery:address:", u.Email), Max: i.limits.PerAddress}
	if _, err := auth.Reserve(ctx, i.store, now, time.Hour, auth.ErrTooManyAttempts, limit); err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindTooManyRequests {
			return nil // capped: the request was answered; nothing more is sent
		}
		return err
	}
	t, m := i.links.Recovery(u, now)
	if err := onetime.Send(ctx, i.store, i.mailer, t, m); err != nil {
		return err
	}
	return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.RecoveryRequested, uuid.Nil, u.ID, nil))
}
