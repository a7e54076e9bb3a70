package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// TestPurge runs the purge loop on both engines: expired sessions and stale
// failure windows go, live ones stay, and the loop stops with its context.
func TestPurge(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			store := dbtest.Open(t, engine)
			ctx := context.Background()
			now := time.Now()
			u := user.New("alice", "$hash", user.RoleUser, now)
			if err := store.InsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			policy := session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}
			_, oldID := session.NewSecret()
			_, liveID := session.NewSecret()
			for _, s := range []session.Session{policy.Start(oldID, u.ID, now.Add(-2*time.Minute)), policy.Start(liveID, u.ID, now)} {
				if err := store.InsertSession(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := store.ReserveAttempts(ctx, now.Add(-time.Hour), 15*time.Minute, []auth.Limit{{Key: "user:old", Max: 5}}); err != nil {
				t.Fatal(err)
			}
			if _, err := store.ReserveAttempts(ctx, now, 15*time.Minute, []auth.Limit{{Key: "user:recent", Max: 5}}); err != nil {
				t.Fatal(err)
			}

			loopCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() {
				purge(loopCtx, store, metrics.New(), slog.New(slog.DiscardHandler), retention{Attempts: 15 * time.Minute}, 10*time.Millisecond)
			})
			for range 300 {
				n, _ := store.SessionCount(ctx, u.ID)
				if n == 1 && windowCount(t, store, "user:old") == -1 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			wg.Wait() // the loop must end with its context

			if _, _, err := store.SessionWithUser(ctx, liveID); err != nil {
				t.Errorf("the live session was purged: %v", err)
			}
			if _, _, err := store.SessionWithUser(ctx, oldID); err == nil {
				t.Error("the expired session survived the purge")
			}
			if old, recent := windowCount(t, store, "user:old"), windowCount(t, store, "user:recent"); old != -1 || recent != 1 {
				t.Errorf("attempt windows after the purge: old %d, recent %d (-1: none)", old, recent)
			}
		})
	}
}
