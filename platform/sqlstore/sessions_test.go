package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
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
