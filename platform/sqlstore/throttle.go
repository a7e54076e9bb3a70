package sqlstore

import (
	"context"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// LoginFailures returns the failure windows of two keys (a username's and
// a client IP's) in one query; a key without failures has a zero window.
func (s *Store) LoginFailures(ctx context.Context, key1, key2 string) (auth.FailureWindow, auth.FailureWindow, error) {
	var rows []struct {
		Key         string `db:"key"`
		Failures    int    `db:"failures"`
		WindowStart dbTime `db:"window_start"`
	}
	err := s.q(ctx).SelectContext(ctx, &rows,
		`SELECT key, failures, window_start FROM login_throttle WHERE key IN ($1, $2)`, key1, key2)
	if err != nil {
		return auth.FailureWindow{}, auth.FailureWindow{}, s.translate("login failures", err)
	}
	var w1, w2 auth.FailureWindow
	for _, r := range rows {
		w := auth.FailureWindow{Failures: r.Failures, Start: r.WindowStart.Time}
		switch r.Key {
		case key1:
			w1 = w
		case key2:
			w2 = w
		}
	}
	return w1, w2, nil
}

// RecordLoginFailure counts one failure for each key at now. A window that
// started more than window ago starts over at now. The upsert is atomic, so
// concurrent failures on any number of replicas are all counted.
func (s *Store) RecordLoginFailure(ctx context.Context, now time.Time, window time.Duration, keys ...string) error {
	for _, key := range keys {
		_, err := s.q(ctx).ExecContext(ctx,
			`INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2)
			 ON CONFLICT (key) DO UPDATE SET
			   failures     = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.failures + 1 END,
			   window_start = CASE WHEN login_throttle.window_start <= $3 THEN excluded.window_start ELSE login_throttle.window_start END`,
			key, ts(now), ts(now.Add(-window)))
		if err != nil {
			return s.translate("record login failure", err)
		}
	}
	return nil
}

// ClearLoginFailures forgets the failures of key.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.q(ctx).ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, key)
	return s.translate("clear login failures", err)
}

// DeleteStaleLoginFailures removes windows that started before cutoff, in
// batches through the window_start index.
func (s *Store) DeleteStaleLoginFailures(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteInBatches(ctx, "delete stale login failures", s.purgeLoginFailures(), ts(cutoff))
}

func (s *Store) purgeLoginFailures() string {
	return s.batchDelete("login_throttle", "key", "window_start < $1", "")
}
