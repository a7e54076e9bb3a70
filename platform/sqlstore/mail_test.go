package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

func queueMail(t *testing.T, s *sqlstore.Store, ctx context.Context, to string, at time.Time, secret bool) sqlstore.Mail {
	t.Helper()
	m := sqlstore.Mail{ID: uuid.Must(uuid.NewV7()), Template: "verify_email", To: to, Subject: "Verify", Text: "text " + to, HTML: "<p>" + to, Secret: secret, CreatedAt: at}
	if err := s.InsertMail(ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOutbox: a message queued in a transaction that rolls back is not
// there; a due one is claimed once per lease, comes back when its lease
// ends, and once sent or given up keeps no body that carries a token.
func TestOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		errRollback := errors.New("roll back")
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			queueMail(t, s, ctx, "gone@example.com", t0, true)
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		secret := queueMail(t, s, ctx, "a@example.com", t0, true)
		plain := queueMail(t, s, ctx, "b@example.com", t0.Add(time.Second), false)
		later := queueMail(t, s, ctx, "c@example.com", t0.Add(time.Hour), false)
		if due, ok, err := s.OldestDueMail(ctx, t0.Add(time.Minute)); err != nil || !ok || !due.Equal(t0) {
			t.Fatalf("oldest due: %v %v %v", due, ok, err)
		}
		claimed, err := s.ClaimMail(ctx, t0.Add(time.Minute), 2*time.Minute, 10)
		if err != nil || len(claimed) != 2 || claimed[0].ID != secret.ID || claimed[1].ID != plain.ID || claimed[0].Attempts != 1 || claimed[0].Text != secret.Text {
			t.Fatalf("claim: %+v, %v", claimed, err)
		}
		if again, err := s.ClaimMail(ctx, t0.Add(2*time.Minute), 2*time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("claimed twice within the lease: %+v, %v", again, err)
		}
		if _, ok, _ := s.OldestDueMail(ctx, t0.Add(2*time.Minute)); ok {
			t.Fatal("a leased message counts as due")
		}
		// The lease ends with no result recorded (the replica died): due again.
		if again, err := s.ClaimMail(ctx, t0.Add(3*time.Minute+time.Second), time.Minute, 1); err != nil || len(again) != 1 || again[0].ID != secret.ID || again[0].Attempts != 2 {
			t.Fatalf("after the lease: %+v, %v", again, err)
		}
		if err := s.MailSent(ctx, secret.ID, t0.Add(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.MailRetry(ctx, plain.ID, t0.Add(10*time.Minute), "451 try later"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.ClaimMail(ctx, t0.Add(9*time.Minute), time.Minute, 10); len(c) != 0 {
			t.Fatalf("claimed before its retry is due: %+v", c)
		}
		c, _ := s.ClaimMail(ctx, t0.Add(10*time.Minute), time.Minute, 10)
		if len(c) != 1 || c[0].ID != plain.ID || c[0].Attempts != 2 {
			t.Fatalf("the retry: %+v", c)
		}
		if err := s.MailFailed(ctx, plain.ID, t0.Add(11*time.Minute), "550 no such user"); err != nil {
			t.Fatal(err)
		}
		bodies := map[uuid.UUID]string{}
		rows, err := s.DB().Query(`SELECT id, text_body || '|' || html_body FROM mail_outbox`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id uuid.UUID
			var b string
			if err := rows.Scan(&id, &b); err != nil {
				t.Fatal(err)
			}
			bodies[id] = b
		}
		rows.Close()
		if len(bodies) != 3 || bodies[secret.ID] != "|" || bodies[plain.ID] != plain.Text+"|"+plain.HTML || bodies[later.ID] == "|" {
			t.Fatalf("bodies after delivery: %q", bodies)
		}
		if n, err := s.DeleteOldMail(ctx, t0.Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("DeleteOldMail = %d, %v; want the 2 finished", n, err)
		}
	})
}

// TestOutboxClaimsAreExclusive: replicas claiming at once (two stores on
// one PostgreSQL, eight claimers) never take the same message.
func TestOutboxClaimsAreExclusive(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			stores := []*sqlstore.Store{dbtest.OpenOn(t, engine, url, nil), dbtest.OpenOn(t, engine, url, nil)}
			ctx := context.Background()
			for i := range 200 {
				queueMail(t, stores[0], ctx, "x@example.com", t0.Add(time.Duration(i)*time.Millisecond), false)
			}
			claimedOnce(t, stores, "messages", func(s *sqlstore.Store) ([]uuid.UUID, error) {
				c, err := s.ClaimMail(ctx, t0.Add(time.Hour), time.Hour, 7)
				ids := make([]uuid.UUID, len(c))
				for k, m := range c {
					ids[k] = m.ID
				}
				return ids, err
			})
		})
	}
}

// claimedOnce runs eight claimers at once over stores (two replicas on one
// database) until claim finds nothing, and fails unless each of the 200
// rows stored beforehand was claimed exactly once.
func claimedOnce(t *testing.T, stores []*sqlstore.Store, what string, claim func(s *sqlstore.Store) ([]uuid.UUID, error)) {
	t.Helper()
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	var wg sync.WaitGroup
	for k := range 8 {
		wg.Go(func() {
			for {
				ids, err := claim(stores[k%2])
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					seen[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d of 200 %s claimed", len(seen), what)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s: %s claimed %d times", what, id, n)
		}
	}
}
