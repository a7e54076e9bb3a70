package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
)

// TestSessionBatch: one batch of lookups, an id unknown and one twice,
// on each engine's batch query: each lookup gets its own session and user,
// the unknown one no row.
func TestSessionBatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		var ids [][]byte
		var names []string
		for _, name := range []string{"alice", "bobby", "carol"} {
			u := insertUser(t, s, name)
			startSession(t, s, u, t0) // another session of the user, not asked for
			ids, names = append(ids, startSession(t, s, u, t0).ID), append(names, name)
		}
		_, unknown := session.NewSecret()
		asked := [][]byte{ids[0], unknown, ids[1], ids[0], ids[2]}
		want := []string{names[0], "", names[1], names[0], names[2]}
		before, _ := s.SessionQueries()
		ss, us, errs := s.LookUpInOneBatch(asked)
		for i := range asked {
			switch {
			case want[i] == "":
				if !errors.Is(errs[i], sql.ErrNoRows) {
					t.Errorf("lookup %d of an unknown session: %v", i, errs[i])
				}
			case errs[i] != nil:
				t.Errorf("lookup %d: %v", i, errs[i])
			case !bytes.Equal(ss[i].ID, asked[i]) || us[i].Username != want[i] || ss[i].UserID != us[i].ID:
				t.Errorf("lookup %d: session %x of %s, want %x of %s", i, ss[i].ID, us[i].Username, asked[i], want[i])
			}
		}
		if after, _ := s.SessionQueries(); after != before+1 {
			t.Errorf("one batch took %d queries", after-before)
		}
	})
}

// TestConcurrentSessionLookups: 300 lookups at once, a third of them of
// unknown sessions, each get their own session and user (or ErrNotFound);
// on PostgreSQL, whose queries outlast the lookups' arrival, they share
// far fewer queries (SQLite's, in process, seldom queue).
func TestConcurrentSessionLookups(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		var sessions []session.Session
		names := map[string]string{} // session id -> username
		for i := range 50 {
			u := insertUser(t, s, fmt.Sprintf("user%d", i))
			for range 2 {
				ss := startSession(t, s, u, t0)
				sessions = append(sessions, ss)
				names[string(ss.ID)] = u.Username
			}
		}
		const n = 300
		before, batched := s.SessionQueries()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if i%3 == 2 {
					_, id := session.NewSecret()
					if _, _, err := s.SessionWithUser(ctx, id); !errors.Is(err, session.ErrNotFound) {
						t.Errorf("lookup %d of an unknown session: %v", i, err)
					}
					return
				}
				want := sessions[i%len(sessions)]
				got, u, err := s.SessionWithUser(ctx, want.ID)
				switch {
				case err != nil:
					t.Errorf("lookup %d: %v", i, err)
				case !bytes.Equal(got.ID, want.ID) || got.UserID != want.UserID || u.ID != want.UserID || u.Username != names[string(want.ID)]:
					t.Errorf("lookup %d: session %x of %s (%s), want %x of %s", i, got.ID, u.Username, got.UserID, want.ID, names[string(want.ID)])
				}
			})
		}
		close(start)
		wg.Wait()
		after, _ := s.SessionQueries()
		t.Logf("%d lookups in %d queries", n, after-before)
		if s.Engine() == "postgres" && (!batched || after-before > n/2) {
			t.Errorf("%d lookups took %d queries, want them batched", n, after-before)
		}
	})
}

// TestAbandonedSessionLookups: with the sessions table locked, lookups
// past the ones that fill the slots queue; one whose deadline passes in
// the queue leaves then and is never looked up, and a batch whose callers
// have all left has its query cancelled (it no longer waits for the lock).
func TestAbandonedSessionLookups(t *testing.T) {
	s := dbtest.Open(t, "postgres")
	ss := startSession(t, s, insertUser(t, s, "alice"), t0)
	if _, _, err := s.SessionWithUser(context.Background(), ss.ID); err != nil {
		t.Fatal(err) // prepares the statement before the lock
	}
	locker, err := s.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Rollback()
	if _, err := locker.Exec(`LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	waiting := func() int {
		var n int
		if err := s.DB().QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); waiting() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%d queries wait for the lock, want %d", waiting(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// lookups starts n lookups that give up after d; their errors arrive
	// on the channel.
	lookups := func(n int, d time.Duration) chan error {
		errs := make(chan error, n)
		for range n {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				_, _, err := s.SessionWithUser(ctx, ss.ID)
				errs <- err
			}()
		}
		return errs
	}
	const slots = 4 // maxBatches
	queries, _ := s.SessionQueries()

	// Slots held for a second; a lookup queued behind them leaves at its
	// 100 ms deadline, and nothing looks it up when the slots free.
	held := lookups(slots, time.Second)
	waitFor(slots)
	started := time.Now()
	if err := <-lookups(1, 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued lookup past its deadline: %v", err)
	}
	if waited := time.Since(started); waited > 900*time.Millisecond {
		t.Fatalf("a queued lookup with a 100ms deadline left after %s, when the slots freed", waited)
	}
	for range slots {
		<-held
	}
	waitFor(0)
	if n, _ := s.SessionQueries(); n != queries+slots {
		t.Fatalf("%d queries for %d lookups in the slots and one that left the queue, want %d", n-queries, slots, slots)
	}

	// Slots held for half a second, two lookups queued for a second and a
	// half: when the slots free, the two share one batch, which waits for
	// the lock until both have left; then it is cancelled.
	held = lookups(slots, 500*time.Millisecond)
	waitFor(slots)
	queued := lookups(2, 1500*time.Millisecond)
	for range slots {
		<-held
	}
	waitFor(1)
	if n, _ := s.SessionQueries(); n != queries+2*slots+1 {
		t.Fatalf("%d queries for %d lookups in the slots and a batch of two, want %d", n-queries-slots, slots, slots+1)
	}
	for range 2 {
		if err := <-queued; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("batched lookup past its deadline: %v", err)
		}
	}
	waitFor(0)

	patient := lookups(1, 30*time.Second)
	waitFor(1)
	if err := locker.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-patient; err != nil {
		t.Fatalf("lookup after the lock: %v", err)
	}
}
