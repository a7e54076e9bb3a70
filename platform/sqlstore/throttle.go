package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// reserveAttemptSQL counts one attempt in a window ($1 the key, $2 now, $3
// the oldest start still current, $4 the limit) unless the current window
// is full, and returns the window's start; a full window returns no row.
// One statement: the row lock it takes makes concurrent reservations, on
// any number of replicas, count one after the other.
const reserveAttemptSQL = `INSERT INTO attempt_windows (key, attempts, window_start) VALUES ($1, 1, $2)
	ON CONFLICT (key) DO UPDATE SET
	  attempts     = CASE WHEN attempt_windows.window_start <= $3 THEN 1 ELSE attempt_windows.attempts + 1 END,
	  window_start = CASE WHEN attempt_windows.window_start <= $3 THEN excluded.window_start ELSE attempt_windows.window_start END
	WHERE attempt_windows.window_start <= $3 OR attempt_windows.attempts < $4
	RETURNING window_start`

// The other queries of the windows: each finds its row by the primary key.
const (
	attemptWindowSQL  = `SELECT window_start FROM attempt_windows WHERE key = $1`
	releaseAttemptSQL = `UPDATE attempt_windows SET attempts = attempts - 1 WHERE key = $1 AND window_start = $2 AND attempts > 0`
	clearAttemptsSQL  = `DELETE FROM attempt_windows WHERE key = $1`
)

// ReserveAttempt counts one attempt in key's window unless it already
// holds limit, and returns whether it did and when the window began.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, length time.Duration, key string, limit int) (bool, time.Time, error) {
	// A full window's start is read after the reservation failed; when a
	// success emptied the window in between, the reservation runs again.
	for range 3 {
		var start dbTime
		err := s.scanRow(ctx, reserveAttemptSQL, []any{key, ts(now), ts(now.Add(-length)), limit}, &start)
		if err == nil {
			return true, start.Time, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, time.Time{}, s.translate("reserve attempt", err)
		}
		err = s.scanRow(ctx, attemptWindowSQL, []any{key}, &start)
		if err == nil {
			return false, start.Time, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, time.Time{}, s.translate("attempt window", err)
		}
	}
	return false, now, nil
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

// DeleteStaleAttempts removes windows that started before cutoff, in
// batches through the window_start index.
func (s *Store) DeleteStaleAttempts(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete stale attempt windows", s.purgeAttempts(), ts(cutoff))
}

func (s *Store) purgeAttempts() string {
	return s.batchDelete("attempt_windows", "key", "window_start < $1", "")
}
