// Package authtest is a hand-written fake of the attempt windows and of
// the sessions a change checks, for the unit tests of the slices that
// check passwords: embed Attempts and Sessions in a fake store.
package authtest

import (
	"context"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Sessions is a fake of the sessions a re-authenticated change checks
// (auth.ReauthStore's SessionExists): every one is alive but those in
// Gone.
type Sessions struct {
	Gone map[string]bool
}

// SessionExists reports whether the session id has not ended.
func (s Sessions) SessionExists(_ context.Context, id []byte) (bool, error) {
	return !s.Gone[string(id)], nil
}

// Window is one key's count and start.
type Window struct {
	Attempts int
	Start    time.Time
}

// Attempts keeps windows in a map, with the store's semantics.
type Attempts struct {
	Windows map[string]Window
}

// Count returns the attempts counted for key (0 for none).
func (a *Attempts) Count(key string) int { return a.Windows[key].Attempts }

// ReserveAttempts counts one attempt in each window that is not full.
func (a *Attempts) ReserveAttempts(_ context.Context, now time.Time, length time.Duration, limits []auth.Limit) ([]auth.Reservation, error) {
	if a.Windows == nil {
		a.Windows = map[string]Window{}
	}
	out := make([]auth.Reservation, len(limits))
	for k, l := range limits {
		w, ok := a.Windows[l.Key]
		if !ok || !w.Start.After(now.Add(-length)) {
			w = Window{Start: now}
		}
		out[k].Start = w.Start
		if w.Attempts >= l.Max {
			continue
		}
		w.Attempts++
		a.Windows[l.Key] = w
		out[k].Counted = true
	}
	return out, nil
}

// ReleaseAttempt gives one attempt back if the window begun at start is
// still key's.
func (a *Attempts) ReleaseAttempt(_ context.Context, key string, start time.Time) error {
	if w, ok := a.Windows[key]; ok && w.Start.Equal(start) && w.Attempts > 0 {
		w.Attempts--
		a.Windows[key] = w
	}
	return nil
}

// ClearAttempts forgets key's window.
func (a *Attempts) ClearAttempts(_ context.Context, key string) error {
	delete(a.Windows, key)
	return nil
}
