// Package requestrecovery sends a link to set a new password to a verified
// address of an active account, and answers every request the same way
// whatever the address: 202 {}, at once. The request path only checks the
// address's form and the client's limit and hands the request to a
// background worker, so neither the answer nor its timing can tell an
// unknown, unverified or inactive address from a valid one.
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

// QueueSize bounds the requests waiting for the worker; past it a request
// is answered and dropped (the per-client limit keeps floods far below).
const QueueSize = 1024

// Interactor takes recovery requests.
type Interactor struct {
	store    Store
	mailer   Mailer
	links    onetime.Links
	limits   Limits
	now      func() time.Time
	requests chan pending
}

type pending struct {
	email  string
	source audit.Source
}

// New returns the interactor; Run does its work.
func New(store Store, mailer Mailer, links onetime.Links, limits Limits, now func() time.Time) *Interactor {
	return &Interactor{store: store, mailer: mailer, links: links, limits: limits, now: now, requests: make(chan pending, QueueSize)}
}

// Input is the address and the client asking.
type Input struct {
	Email    string
	ClientIP string
}

// Execute takes a request: the address must be well formed (422) and the
// client within its limit (429); then it is queued for Run, and the answer
// is the same for every address.
func (i *Interactor) Execute(ctx context.Context, in Input) error {
	if in.Email == "" {
		return apperr.Invalid(apperr.FieldError{Field: "email", Message: "email is required"})
	}
	if err := user.CheckEmail(in.Email); err != nil {
		return apperr.Invalid(apperr.FieldError{Field: "email", Message: err.Error()})
	}
	limit := auth.Limit{Key: "recovery:ip:" + auth.ClientNetwork(in.ClientIP), Max: i.limits.PerIP}
	if _, err := auth.Reserve(ctx, i.store, i.now(), i.limits.Window, auth.ErrTooManyAttempts, limit); err != nil {
		return fmt.Errorf("request recovery: %w", err)
	}
	select {
	case i.requests <- pending{email: in.Email, source: audit.SourceFrom(ctx)}:
	default: // full: answered all the same
	}
	return nil
}

// Run does the queued requests' work until ctx ends, then the requests
// still queued; report hears of each failure.
func (i *Interactor) Run(ctx context.Context, report func(error)) {
	for {
		select {
		case r := <-i.requests:
			i.do(ctx, r, report)
		case <-ctx.Done():
			for {
				select {
				case r := <-i.requests:
					i.do(context.WithoutCancel(ctx), r, report)
				default:
					return
				}
			}
		}
	}
}

func (i *Interactor) do(ctx context.Context, r pending, report func(error)) {
	ctx, cancel := context.WithTimeout(audit.WithSource(ctx, r.source), 10*time.Second)
	defer cancel()
	if err := i.process(ctx, r.email); err != nil {
		report(fmt.Errorf("recovery request: %w", err))
	}
}

// process sends a recovery message when email is the verified address of
// an active account and the address's hourly cap allows it; otherwise it
// does nothing. Each sent message is recorded as recovery.requested.
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
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := onetime.Send(ctx, i.store, i.mailer, t, m); err != nil {
			return err
		}
		return i.store.RecordEvent(ctx, audit.New(ctx, now, audit.RecoveryRequested, uuid.Nil, u.ID, nil))
	})
}
