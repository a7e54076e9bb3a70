package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// attempts reads the count of key's window: -1 when there is none.
func attempts(t *testing.T, s *sqlstore.Store, key string) int {
	t.Helper()
	n := -1
	err := s.DB().QueryRow(`SELECT attempts FROM attempt_windows WHERE key = $1`, key).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return n
}

func TestAttemptWindows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		window := 15 * time.Minute
		reserve := func(at time.Time, key string) (bool, time.Time) {
			t.Helper()
			rs, err := s.ReserveAttempts(ctx, at, window, []auth.Limit{{Key: key, Max: 3}})
			if err != nil || len(rs) != 1 {
				t.Fatal(rs, err)
			}
			return rs[0].Counted, rs[0].Start
		}
		for i := range 3 {
			if ok, start := reserve(t0.Add(time.Duration(i)*time.Minute), "user:k"); !ok || !start.Equal(t0) {
				t.Fatalf("attempt %d: %v, window from %v", i+1, ok, start)
			}
		}
		if ok, start := reserve(t0.Add(5*time.Minute), "user:k"); ok || !start.Equal(t0) {
			t.Fatalf("4th attempt in a full window: %v, window from %v", ok, start)
		}
		if n := attempts(t, s, "user:k"); n != 3 {
			t.Fatalf("a refused attempt was counted: %d", n)
		}
		// A success gives its attempt back, and the window has room again.
		if err := s.ReleaseAttempt(ctx, "user:k", t0); err != nil {
			t.Fatal(err)
		}
		if ok, _ := reserve(t0.Add(6*time.Minute), "user:k"); !ok {
			t.Fatal("no room after a release")
		}
		if ok, _ := reserve(t0, "ip:other"); !ok || attempts(t, s, "ip:other") != 1 || attempts(t, s, "user:k") != 3 {
			t.Fatal("keys mixed up")
		}
		// A full window ends; the next attempt starts a new one, and a
		// release meant for the old window changes nothing.
		if ok, start := reserve(t0.Add(window), "user:k"); !ok || !start.Equal(t0.Add(window)) || attempts(t, s, "user:k") != 1 {
			t.Fatalf("after the window: %v from %v, %d", ok, start, attempts(t, s, "user:k"))
		}
		if err := s.ReleaseAttempt(ctx, "user:k", t0); err != nil || attempts(t, s, "user:k") != 1 {
			t.Fatalf("a stale release counted: %v, %d", err, attempts(t, s, "user:k"))
		}
		for range 2 { // never below 0
			if err := s.ReleaseAttempt(ctx, "user:k", t0.Add(window)); err != nil {
				t.Fatal(err)
			}
		}
		if n := attempts(t, s, "user:k"); n != 0 {
			t.Fatalf("after two releases of one attempt: %d", n)
		}
		if err := s.ClearAttempts(ctx, "user:k"); err != nil || attempts(t, s, "user:k") != -1 {
			t.Fatalf("after clearing: %v, %d", err, attempts(t, s, "user:k"))
		}
		if n, err := s.DeleteStaleAttempts(ctx, t0.Add(window+time.Minute), window); err != nil || n != 1 {
			t.Fatalf("DeleteStaleAttempts = %d, %v", n, err)
		}
		// Two windows in one statement, each with its own limit: a full
		// one is reported with its start, the other counts.
		two := []auth.Limit{{Key: "user:two", Max: 1}, {Key: "ip:two", Max: 2}}
		for i, want := range [][2]bool{{true, true}, {false, true}, {false, false}} {
			rs, err := s.ReserveAttempts(ctx, t0.Add(window), window, two)
			if err != nil || rs[0].Counted != want[0] || rs[1].Counted != want[1] || !rs[0].Start.Equal(t0.Add(window)) || !rs[1].Start.Equal(t0.Add(window)) {
				t.Fatalf("two windows, attempt %d: %+v, %v; want counted %v", i+1, rs, err, want)
			}
		}
		if attempts(t, s, "user:two") != 1 || attempts(t, s, "ip:two") != 2 {
			t.Fatalf("two windows hold %d and %d", attempts(t, s, "user:two"), attempts(t, s, "ip:two"))
		}
	})
}

// TestConcurrentReservationsAreExact: however many attempts arrive at
// once, exactly the limit is reserved; the window's count never passes it.
func TestConcurrentReservationsAreExact(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		var wg sync.WaitGroup
		var reserved atomic.Int32
		for range 20 {
			wg.Go(func() {
				rs, err := s.ReserveAttempts(context.Background(), t0, time.Hour, []auth.Limit{{Key: "user:k", Max: 5}, {Key: "ip:k", Max: 50}})
				if err != nil {
					t.Error(err)
					return
				}
				if rs[0].Counted {
					reserved.Add(1)
				}
			})
		}
		wg.Wait()
		if n := reserved.Load(); n != 5 || attempts(t, s, "user:k") != 5 || attempts(t, s, "ip:k") != 20 {
			t.Fatalf("%d of 20 concurrent attempts reserved with a limit of 5; the windows hold %d and %d", n, attempts(t, s, "user:k"), attempts(t, s, "ip:k"))
		}
	})
}
