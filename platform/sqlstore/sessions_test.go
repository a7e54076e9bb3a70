package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

var policy = session.Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}

func insertUser(t *testing.T, s *sqlstore.Store, name string) user.User {
	t.Helper()
	u := newUser(name, user.RoleUser)
	if err := s.InsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func startSession(t *testing.T, s *sqlstore.Store, u user.User, at time.Time) session.Session {
	t.Helper()
	_, id := session.NewSecret()
	ss := policy.Start(id, u.ID, at)
	if err := s.InsertSession(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestSessionWithUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		ss := startSession(t, s, u, t0)
		got, gotUser, err := s.SessionWithUser(ctx, ss.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.ID, ss.ID) || got.UserID != u.ID || !got.CreatedAt.Equal(ss.CreatedAt) || !got.ExpiresAt.Equal(ss.ExpiresAt) ||
			!got.AbsoluteExpiresAt.Equal(ss.AbsoluteExpiresAt) || !got.LastSeenAt.Equal(ss.LastSeenAt) {
			t.Fatalf("session %+v, want %+v", got, ss)
		}
		if gotUser != u {
			t.Fatalf("user %+v, want %+v", gotUser, u)
		}
		if _, _, err := s.SessionWithUser(ctx, make([]byte, 32)); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("unknown session: %v", err)
		}

		later := t0.Add(20 * time.Minute)
		if err := s.ExtendSession(ctx, ss.ID, later, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.SessionWithUser(ctx, ss.ID)
		if !got.ExpiresAt.Equal(later) || !got.LastSeenAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("extended session %+v", got)
		}
	})
}

func TestDeletingSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		alice, bob := insertUser(t, s, "alice"), insertUser(t, s, "bobby")
		a1 := startSession(t, s, alice, t0)
		startSession(t, s, alice, t0)
		b1 := startSession(t, s, bob, t0.Add(-time.Hour)) // expired at t0
		if n, err := s.DeleteSession(ctx, a1.ID); err != nil || n != 1 {
			t.Fatalf("DeleteSession = %d, %v", n, err)
		}
		if n, err := s.DeleteSession(ctx, a1.ID); err != nil || n != 0 {
			t.Fatalf("DeleteSession of a gone session = %d, %v", n, err)
		}
		if n, _ := s.SessionCount(ctx, alice.ID); n != 1 {
			t.Fatalf("alice has %d sessions after deleting one of two", n)
		}
		if n, err := s.DeleteUserSessions(ctx, alice.ID); err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions = %d, %v", n, err)
		}
		if n, _ := s.SessionCount(ctx, alice.ID); n != 0 {
			t.Fatalf("alice has %d sessions after deleting all", n)
		}
		n, err := s.DeleteExpiredSessions(ctx, t0)
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if _, _, err := s.SessionWithUser(ctx, b1.ID); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("expired session still there: %v", err)
		}
	})
}

func TestSessionsGoWithTheirUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		ss := startSession(t, s, u, t0)
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionWithUser(ctx, ss.ID); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("session outlived its user: %v", err)
		}
		// And a session cannot point at a user who does not exist.
		_, id := session.NewSecret()
		if err := s.InsertSession(ctx, policy.Start(id, user.NewID(), t0)); err == nil {
			t.Fatal("a session for a missing user was stored")
		}
	})
}

func TestUpdatePasswordAndActive(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		later := t0.Add(time.Hour)
		if err := s.UpdatePasswordHash(ctx, u.ID, "$new", later); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserActive(ctx, u.ID, false, later); err != nil {
			t.Fatal(err)
		}
		got, _ := s.UserByID(ctx, u.ID)
		if got.PasswordHash != "$new" || got.IsActive || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("user after updates %+v", got)
		}
		if err := s.SetUserActive(ctx, user.NewID(), true, later); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("update of a missing user: %v", err)
		}
	})
}

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
		if n, err := s.DeleteStaleAttempts(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
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

func TestInsertSessionIfCurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		insert := func(userID uuid.UUID, hash string) bool {
			t.Helper()
			_, id := session.NewSecret()
			ok, err := s.InsertSessionIfCurrent(ctx, policy.Start(id, userID, t0), hash)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !insert(u.ID, u.PasswordHash) {
			t.Fatal("active user with the verified hash: not stored")
		}
		if insert(u.ID, "$another") {
			t.Fatal("stored for a hash that is no longer the user's")
		}
		if err := s.SetUserActive(ctx, u.ID, false, t0); err != nil {
			t.Fatal(err)
		}
		if insert(u.ID, u.PasswordHash) {
			t.Fatal("stored for an inactive user")
		}
		if insert(user.NewID(), u.PasswordHash) {
			t.Fatal("stored for a missing user")
		}
		if n, _ := s.SessionCount(ctx, u.ID); n != 1 {
			t.Fatalf("%d sessions, want 1", n)
		}
	})
}

// TestPasswordHashSwaps: a change and a rehash replace only the hash they
// were checked against; a rehash leaves updated_at alone.
func TestPasswordHashSwaps(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		later := t0.Add(time.Hour)
		if ok, err := s.RehashPassword(ctx, u.ID, "$stale", "$rehash"); err != nil || ok {
			t.Fatalf("rehash over another hash: %v, %v", ok, err)
		}
		if ok, err := s.RehashPassword(ctx, u.ID, u.PasswordHash, "$rehash"); err != nil || !ok {
			t.Fatalf("rehash: %v, %v", ok, err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "$rehash" || !got.UpdatedAt.Equal(u.UpdatedAt) {
			t.Fatalf("after the rehash: %+v", got)
		}
		if ok, err := s.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "$changed", later); err != nil || ok {
			t.Fatalf("change over another hash: %v, %v", ok, err)
		}
		if ok, err := s.ReplacePasswordHash(ctx, u.ID, "$rehash", "$changed", later); err != nil || !ok {
			t.Fatalf("change: %v, %v", ok, err)
		}
		if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "$changed" || !got.UpdatedAt.Equal(later) {
			t.Fatalf("after the change: %+v", got)
		}
	})
}

// TestSessionManagement: listing (live only, most recently seen first,
// with the client's details), ending one by public id (only the owner's),
// ending all others, and the per-user limit.
func TestSessionManagement(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		alice, bob := insertUser(t, s, "alice"), insertUser(t, s, "bobby")
		var mine []session.Session
		for n := range 4 {
			_, id := session.NewSecret()
			ss := policy.Start(id, alice.ID, t0.Add(time.Duration(n)*time.Minute))
			ss.UserAgent, ss.IP = fmt.Sprintf("agent %d", n), "192.0.2.1"
			if err := s.InsertSession(ctx, ss); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, ss)
		}
		expired := startSession(t, s, alice, t0.Add(-25*time.Hour))
		theirs := startSession(t, s, bob, t0)

		list, err := s.UserSessions(ctx, alice.ID, t0.Add(5*time.Minute))
		if err != nil || len(list) != 4 {
			t.Fatalf("UserSessions = %d sessions, %v; want the 4 live ones", len(list), err)
		}
		if list[0].PublicID != mine[3].PublicID || list[3].PublicID != mine[0].PublicID || list[0].UserAgent != "agent 3" || list[0].IP != "192.0.2.1" || !bytes.Equal(list[0].ID, mine[3].ID) {
			t.Fatalf("UserSessions order or fields: %+v", list[0])
		}
		if _, err := s.DeleteUserSession(ctx, alice.ID, theirs.PublicID); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("deleting another user's session: %v", err)
		}
		if _, err := s.DeleteUserSession(ctx, alice.ID, user.NewID()); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("deleting an unknown session: %v", err)
		}
		id, err := s.DeleteUserSession(ctx, alice.ID, mine[1].PublicID)
		if err != nil || !bytes.Equal(id, mine[1].ID) {
			t.Fatalf("DeleteUserSession = %x, %v", id, err)
		}
		if n, err := s.DeleteOldestSessions(ctx, alice.ID, 2); err != nil || n != 2 {
			t.Fatalf("DeleteOldestSessions = %d, %v; want the expired one and the oldest live one", n, err)
		}
		if _, _, err := s.SessionWithUser(ctx, expired.ID); !errors.Is(err, session.ErrNotFound) {
			t.Fatal("the oldest session survived the limit")
		}
		if n, err := s.DeleteOtherSessions(ctx, alice.ID, mine[3].ID); err != nil || n != 1 {
			t.Fatalf("DeleteOtherSessions = %d, %v", n, err)
		}
		left, _ := s.UserSessions(ctx, alice.ID, t0.Add(5*time.Minute))
		if len(left) != 1 || left[0].PublicID != mine[3].PublicID {
			t.Fatalf("left: %+v", left)
		}
		if n, _ := s.SessionCount(ctx, bob.ID); n != 1 {
			t.Fatal("bob's session was touched")
		}
	})
}
