package requestrecovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// The worker's settings. A claim's lease outlasts the work of its whole
// batch (each request bounded by workTimeout, one after the other, then
// the deletion of those that sent nothing), so a request is taken again
// only once its work has surely ended, or its replica died; even then, of
// two workers holding one request only one commits (DeleteRecoveryRequest).
const (
	poll        = time.Second
	batch       = 16
	workTimeout = 5 * time.Second
	lease       = (batch+1)*workTimeout + 30*time.Second
	// maxAttempts is how many claims a request gets: one whose work fails
	// every time (its address sealed under a key no replica has, a fault
	// that never passes) is then given up, and deleted.
	maxAttempts = 5
)

// Run does the stored requests' work until ctx ends: at once, then every
// poll, and again at once after a full batch. report hears of each
// failure.
func (i *Interactor) Run(ctx context.Context, report func(error)) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := i.doDue(ctx, report)
			if err != nil {
				if ctx.Err() == nil {
					report(err)
				}
				break
			}
			if n < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// doDue claims up to a batch of due requests, does their work and
// returns how many it claimed. Most requests send nothing (an unknown,
// unverified or inactive address, and every request of a flood): those
// are looked up outside any transaction and deleted together, one commit
// for the batch. A request that sends a message is done in a transaction
// of its own that deletes it. The work of a claimed request is done and
// recorded even when ctx ends meanwhile (shutdown): it is not left for its
// lease.
func (i *Interactor) doDue(ctx context.Context, report func(error)) (int, error) {
	due, err := i.store.ClaimRecoveryRequests(ctx, i.now(), lease, batch)
	if err != nil {
		return 0, fmt.Errorf("claim recovery requests: %w", err)
	}
	ctx = context.WithoutCancel(ctx)
	var done []onetime.RecoveryRequest // nothing to send: deleted together
	for _, r := range due {
		if err := i.do(ctx, r, &done); err != nil {
			report(fmt.Errorf("recovery request %s, attempt %d: %w", r.ID, r.Attempts, err))
		}
	}
	if err := i.forget(ctx, done); err != nil {
		report(fmt.Errorf("recovery requests: delete %d done: %w", len(done), err))
	}
	return len(due), nil
}

// errGivenUp and errTaken are what the worker reports besides faults.
var (
	errGivenUp = fmt.Errorf("given up after %d attempts", maxAttempts)
	errTaken   = errors.New("another worker took it: this claim's lease ended")
)

// do does r's work, or adds r to done when it has none (or is given up).
// A failure leaves r claimed, due again when the lease ends.
func (i *Interactor) do(ctx context.Context, r onetime.RecoveryRequest, done *[]onetime.RecoveryRequest) error {
	ctx, cancel := context.WithTimeout(audit.WithSource(ctx, r.Source), workTimeout)
	defer cancel()
	if r.Attempts > maxAttempts {
		*done = append(*done, r)
		return errGivenUp
	}
	// An address no configured key opens waits for its lease too: while
	// mfa.encryption_key rotates, a replica that has the new key takes it.
	email, _, err := i.sealer.Open(r.ID, r.Email)
	if err != nil {
		return err
	}
	u, err := i.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, user.ErrNotFound) || err == nil && (!u.IsActive || !u.EmailVerified()):
		*done = append(*done, r)
		return nil
	case err != nil:
		return err
	}
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		held, err := i.store.DeleteRecoveryRequest(ctx, r.ID, r.Attempts)
		if err != nil {
			return err
		}
		if !held {
			return errTaken
		}
		return i.process(ctx, email) // the account looked up again, in the transaction
	})
}

// forget deletes, in one transaction, requests that send nothing; one
// that another worker has claimed since is left to it.
func (i *Interactor) forget(ctx context.Context, rs []onetime.RecoveryRequest) error {
	if len(rs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, workTimeout)
	defer cancel()
	return i.store.WithinTx(ctx, func(ctx context.Context) error {
		for _, r := range rs {
			if _, err := i.store.DeleteRecoveryRequest(ctx, r.ID, r.Attempts); err != nil {
				return err
			}
		}
		return nil
	})
}
