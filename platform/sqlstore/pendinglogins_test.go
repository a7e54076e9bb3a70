package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
)

// TestPendingLoginAttempts: a pending login counts up to its max, and is
// gone once expired.
func TestPendingLoginAttempts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := insertUser(t, s, "alice")
		_, id := session.NewPendingSecret()
		p := session.Pending{ID: id, UserID: u.ID, VerifiedHash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), UserAgent: "ua", IP: "192.0.2.1"}
		if err := s.InsertPendingLogin(ctx, p); err != nil {
			t.Fatal(err)
		}
		for k := 1; k <= 3; k++ {
			got, err := s.CountPendingAttempt(ctx, id, t0, 3)
			if err != nil || got.Attempts != k || got.UserID != u.ID || got.VerifiedHash != "h" || got.IP != "192.0.2.1" || !got.ExpiresAt.Equal(p.ExpiresAt) {
				t.Fatalf("attempt %d: %+v, %v", k, got, err)
			}
		}
		if _, err := s.CountPendingAttempt(ctx, id, t0, 3); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("past the max: %v", err)
		}
		_, other := session.NewPendingSecret()
		p.ID = other
		s.InsertPendingLogin(ctx, p)
		if _, err := s.CountPendingAttempt(ctx, other, t0.Add(time.Minute), 3); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("expired: %v", err)
		}
		if n, err := s.DeleteExpiredPendingLogins(ctx, t0.Add(time.Minute)); err != nil || n != 2 {
			t.Fatalf("purged %d, %v", n, err)
		}
	})
}
