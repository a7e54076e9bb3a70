// Package audittest is a hand-written fake of the audit trail for the unit
// tests of the slices that record events: embed a Trail in a fake store.
package audittest

import (
	"context"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Trail records events in memory. Its WithinTx drops what fn recorded when
// fn fails, as a rolled-back transaction does.
type Trail struct {
	Events []audit.Event
}

// WithinTx runs fn.
func (t *Trail) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	n := len(t.Events)
	err := fn(ctx)
	if err != nil {
		t.Events = t.Events[:n]
	}
	return err
}

// RecordEvent keeps e.
func (t *Trail) RecordEvent(_ context.Context, e audit.Event) error {
	t.Events = append(t.Events, e)
	return nil
}

// Types returns the types of the recorded events, in order.
func (t *Trail) Types() []audit.Type {
	out := make([]audit.Type, len(t.Events))
	for i, e := range t.Events {
		out[i] = e.Type
	}
	return out
}

// Ended returns how many sessions the recorded events ended for reason.
func (t *Trail) Ended(reason session.EndReason) int {
	total := 0
	for _, e := range t.Events {
		if r, n, ok := e.Ended(); ok && r == string(reason) {
			total += n
		}
	}
	return total
}
