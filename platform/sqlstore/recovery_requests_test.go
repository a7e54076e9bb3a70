package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

func storeRecoveryRequest(t *testing.T, s *sqlstore.Store, ctx context.Context, at time.Time) onetime.RecoveryRequest {
	t.Helper()
	r := onetime.RecoveryRequest{ID: uuid.Must(uuid.NewV7()), Email: []byte{0, 1, 2, 0xff}, CreatedAt: at,
		Source: audit.Source{IP: "192.0.2.1", UserAgent: "curl/8", RequestID: "req-" + at.Format(time.StampMicro)}}
	if err := s.InsertRecoveryRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecoveryRequests: a request stored in a transaction that rolls back
// is not there; a due one is claimed once per lease (each claim counted),
// comes back when its lease ends, and a delete holds only for the claim
// that counted last.
func TestRecoveryRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		errRollback := errors.New("roll back")
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			storeRecoveryRequest(t, s, ctx, t0)
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		first := storeRecoveryRequest(t, s, ctx, t0)
		second := storeRecoveryRequest(t, s, ctx, t0.Add(time.Second))
		later := storeRecoveryRequest(t, s, ctx, t0.Add(time.Hour))

		claimed, err := s.ClaimRecoveryRequests(ctx, t0.Add(time.Minute), 2*time.Minute, 10)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim: %+v, %v", claimed, err)
		}
		got := map[uuid.UUID]onetime.RecoveryRequest{claimed[0].ID: claimed[0], claimed[1].ID: claimed[1]}
		for _, want := range []onetime.RecoveryRequest{first, second} {
			c := got[want.ID]
			if string(c.Email) != string(want.Email) || c.Source != want.Source || !c.CreatedAt.Equal(want.CreatedAt) || c.Attempts != 1 {
				t.Fatalf("claimed %+v, stored %+v", c, want)
			}
		}
		if again, err := s.ClaimRecoveryRequests(ctx, t0.Add(2*time.Minute), 2*time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("claimed twice within the lease: %+v, %v", again, err)
		}
		// The lease ends with the work not done (the replica died): due
		// again, oldest first, and counted again.
		again, err := s.ClaimRecoveryRequests(ctx, t0.Add(3*time.Minute), time.Minute, 1)
		if err != nil || len(again) != 1 || again[0].ID != first.ID || again[0].Attempts != 2 {
			t.Fatalf("after the lease: %+v, %v", again, err)
		}
		// The first claim no longer holds it; the second does.
		if held, err := s.DeleteRecoveryRequest(ctx, first.ID, 1); err != nil || held {
			t.Fatalf("a stale claim deleted the request: %v, %v", held, err)
		}
		if held, err := s.DeleteRecoveryRequest(ctx, first.ID, 2); err != nil || !held {
			t.Fatalf("delete by the claim that holds it: %v, %v", held, err)
		}
		if held, err := s.DeleteRecoveryRequest(ctx, first.ID, 2); err != nil || held {
			t.Fatalf("deleted twice: %v, %v", held, err)
		}
		if rest, err := s.ClaimRecoveryRequests(ctx, t0.Add(2*time.Hour), time.Minute, 10); err != nil || len(rest) != 2 ||
			rest[0].ID == first.ID || rest[1].ID == first.ID || (rest[0].ID != later.ID && rest[1].ID != later.ID) {
			t.Fatalf("the rest: %+v, %v", rest, err)
		}
	})
}

// TestRecoveryRequestClaimsAreExclusive: replicas claiming at once (two
// stores on one database, eight claimers) never take the same request.
func TestRecoveryRequestClaimsAreExclusive(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			stores := []*sqlstore.Store{dbtest.OpenOn(t, engine, url, nil), dbtest.OpenOn(t, engine, url, nil)}
			ctx := context.Background()
			for i := range 200 {
				storeRecoveryRequest(t, stores[0], ctx, t0.Add(time.Duration(i)*time.Millisecond))
			}
			claimedOnce(t, stores, "recovery requests", func(s *sqlstore.Store) ([]uuid.UUID, error) {
				c, err := s.ClaimRecoveryRequests(ctx, t0.Add(time.Hour), time.Hour, 7)
				ids := make([]uuid.UUID, len(c))
				for k, r := range c {
					ids[k] = r.ID
				}
				return ids, err
			})
		})
	}
}

// TestARequestBeingDoneIsNotClaimed: while a worker's transaction does a
// request (its delete first), another replica's claim, its lease ended,
// does not get it, and once that transaction commits it is gone.
func TestARequestBeingDoneIsNotClaimed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		r := storeRecoveryRequest(t, s, ctx, t0)
		if c, err := s.ClaimRecoveryRequests(ctx, t0, time.Minute, 1); err != nil || len(c) != 1 {
			t.Fatalf("claim: %v %v", c, err)
		}
		claims := make(chan []onetime.RecoveryRequest, 1)
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			if held, err := s.DeleteRecoveryRequest(ctx, r.ID, 1); err != nil || !held {
				return fmt.Errorf("held %v: %w", held, err)
			}
			go func() {
				c, err := s.ClaimRecoveryRequests(context.Background(), t0.Add(time.Hour), time.Minute, 1)
				if err != nil {
					t.Error(err)
				}
				claims <- c
			}()
			time.Sleep(100 * time.Millisecond) // the claim runs, or waits for the commit
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := <-claims; len(c) != 0 {
			t.Fatalf("claimed while being done: %+v", c)
		}
	})
}
