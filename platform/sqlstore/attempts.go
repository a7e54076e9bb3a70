package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// reserveAttemptsSQL returns the statement that counts one attempt in n
// windows ($1 now, $2 the oldest start still current, $3 the end of a
// window begun now, then each window's key and limit) unless a window is
// full, and returns the key and start of each window it counted in. One
// statement: the row locks it takes, in the order of its VALUES, make
// concurrent reservations on any number of replicas count one after the
// other. A window records its end when it begins, so that the purge keeps
// it for its own length (Purge).
func reserveAttemptsSQL(n int) string {
	var values, limits strings.Builder
	for k := range n {
		key, limit := 4+2*k, 5+2*k
		if k > 0 {
			values.WriteString(", ")
		}
		fmt.Fprintf(&values, "($%d, 1, $1, $3)", key)
		fmt.Fprintf(&limits, " WHEN $%d THEN CAST($%d AS integer)", key, limit)
	}
	return `INSERT INTO attempt_windows (key, attempts, window_start, window_end) VALUES ` + values.String() + `
	ON CONFLICT (key) DO UPDATE SET
	  attempts     = CASE WHEN attempt_windows.window_start <= $2 THEN 1 ELSE attempt_windows.attempts + 1 END,
	  window_start = CASE WHEN attempt_windows.window_start <= $2 THEN excluded.window_start ELSE attempt_windows.window_start END,
	  window_end   = CASE WHEN attempt_windows.window_start <= $2 THEN excluded.window_end ELSE attempt_windows.window_end END
	WHERE attempt_windows.window_start <= $2 OR attempt_windows.attempts < CASE excluded.key` + limits.String() + ` END
	RETURNING key, window_start`
}

// The statements of one and two windows (a signup's; a password's), made
// once.
var reserveAttempts = [...]string{1: reserveAttemptsSQL(1), 2: reserveAttemptsSQL(2)}

// The other queries of the windows: each finds its row by the primary key.
const (
	attemptWindowSQL  = `SELECT window_start FROM attempt_windows WHERE key = $1`
	releaseAttemptSQL = `UPDATE attempt_windows SET attempts = attempts - 1 WHERE key = $1 AND window_start = $2 AND attempts > 0`
	clearAttemptsSQL  = `DELETE FROM attempt_windows WHERE key = $1`
)

// ReserveAttempts counts one attempt in the window of each limit that does
// not already hold its Max, and reports for each whether it did and when
// its window began (read after the statement for a full window).
func (s *Store) ReserveAttempts(ctx context.Context, now time.Time, length time.Duration, limits []auth.Limit) ([]auth.Reservation, error) {
	query := ""
	if len(limits) < len(reserveAttempts) {
		query = reserveAttempts[len(limits)]
	}
	if query == "" {
		return nil, fmt.Errorf("reserve attempts: %d windows at once", len(limits))
	}
	args := []any{ts(now), ts(now.Add(-length)), ts(now.Add(length))}
	for _, l := range limits {
		args = append(args, l.Key, l.Max)
	}
	var rows []struct {
		Key         string `db:"key"`
		WindowStart dbTime `db:"window_start"`
	}
	if err := s.q(ctx).SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, s.translate("reserve attempts", err)
	}
	out := make([]auth.Reservation, len(limits))
	for k, l := range limits {
		for _, r := range rows {
			if r.Key == l.Key {
				out[k] = auth.Reservation{Counted: true, Start: r.WindowStart.Time}
			}
		}
		if out[k].Counted {
			continue
		}
		var start dbTime
		err := s.scanRow(ctx, attemptWindowSQL, []any{l.Key}, &start)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Emptied by a success since: full a moment ago, so refused,
			// but worth trying again at once.
			out[k].Start = now.Add(-length)
		case err != nil:
			return nil, s.translate("attempt window", err)
		default:
			out[k].Start = start.Time
		}
	}
	return out, nil
}

// ReleaseAttempt gives back one attempt counted in key's window, if that
// window is still the one begun at start.
func (s *Store) ReleaseAttempt(ctx context.Context, key string, start time.Time) error {
	_, err := s.q(ctx).ExecContext(ctx, releaseAttemptSQL, key, ts(start))
	return s.translate("release attempt", err)
}

// ClearAttempts empties key's window.
func (s *Store) ClearAttempts(ctx context.Context, key string) error {
	_, err := s.q(ctx).ExecContext(ctx, clearAttemptsSQL, key)
	return s.translate("clear attempts", err)
}

// DeleteStaleAttempts removes the windows that have ended by now and
// began keep or more before it, in batches (see purgeAttempts).
func (s *Store) DeleteStaleAttempts(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	return s.deleteInBatches(ctx, "delete stale attempt windows", s.purgeAttempts(), ts(now.Add(-keep)), ts(now))
}

// purgeAttempts deletes ($3 rows at most) the windows that began before $1
// and have ended by $2: each window is kept for its own length, recorded
// when it began (window_end), so that purging the short windows never
// shortens a long one (the hourly caps). A window without its end, written
// by a release before migration 000023, ends $1 after its start, as that
// release purged it. The batch is found through the window_start index:
// $1, the longest configured window, keeps the ended windows it passes
// over to the few longer ones.
func (s *Store) purgeAttempts() string {
	return s.batchDeleteLimit("attempt_windows", "key", "window_start < $1 AND (window_end IS NULL OR window_end <= $2)", "", "$3")
}
