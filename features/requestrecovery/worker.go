package requestrecovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// The worker's settings. A claim's lease outlasts the work of its whole
// batch (each request bounded by workTimeout, one after the other), so a
// request is taken again only once its work has surely ended, or its
// replica died; even then, of two workers holding one request only one
// commits (DeleteRecoveryRequest).
const (
	poll        = time.Second
	batch       = 16
	workTimeout = 5 * time.Second
	lease       = batch*workTimeout + 30*time.Second
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

// doDue claims up to a batch of due requests and does each one's work,
// and returns how many it claimed. The work of a claimed request is done
// and recorded even when ctx ends meanwhile (shutdown): it is not left
// waiting for its lease.
func (i *Interactor) doDue(ctx context.Context, report func(error)) (int, error) {
	due, err := i.store.ClaimRecoveryRequests(ctx, i.now(), lease, batch)
	if err != nil {
		return 0, fmt.Errorf("claim recovery requests: %w", err)
	}
	for _, r := range due {
		if err := i.do(context.WithoutCancel(ctx), r); err != nil {
			report(fmt.Errorf("recovery request %s, attempt %d: %w", r.ID, r.Attempts, err))
		}
	}
	return len(due), nil
}

// errGivenUp and errTaken are what do reports besides faults.
var (
	errGivenUp = fmt.Errorf("given up after %d attempts", maxAttempts)
	errTaken   = errors.New("another worker took it: this claim's lease ended")
)

// do does r's work in one transaction that also deletes r: a failure
// leaves r claimed, due again when the lease ends.
func (i *Interactor) do(ctx context.Context, r onetime.RecoveryRequest) error {
	ctx, cancel := context.WithTimeout(audit.WithSource(ctx, r.Source), workTimeout)
	defer cancel()
	if r.Attempts > maxAttempts {
		if _, err := i.store.DeleteRecoveryRequest(ctx, r.ID, r.Attempts); err != nil {
			return errors.Join(errGivenUp, err)
		}
		return errGivenUp
	}
	// An address no configured key opens waits for its lease too: while
	// mfa.encryption_key rotates, a replica that has the new key takes it.
	email, _, err := i.sealer.Open(r.ID, r.Email)
	if err != nil {
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
		return i.process(ctx, email)
	})
}
