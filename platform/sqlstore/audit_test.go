package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// bulkEvents makes n audit events in one statement: one a millisecond
// from start on, types cycling through four, targets through the users
// with ids $4 and $5 (every other event), actor $4 on every fourth.
var bulkEvents = map[string]string{
	"postgres": `INSERT INTO audit_events (id, occurred_at, type, actor_id, target_id, ip, details)
		SELECT gen_random_uuid(), $2::timestamptz + g * interval '1 millisecond',
		       (ARRAY['login.succeeded','login.failed','session.ended','user.granted_admin'])[g % 4 + 1],
		       CASE WHEN g % 4 = 0 THEN $4::uuid END, CASE WHEN g % 2 = 0 THEN $4::uuid ELSE $5::uuid END,
		       '192.0.2.1', '{"reason":"bulk"}'
		FROM generate_series(1, $1) g WHERE $3 = $3`,
	"sqlite": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
		INSERT INTO audit_events (id, occurred_at, type, actor_id, target_id, ip, details)
		SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21)),
		       strftime('%Y-%m-%dT%H:%M:%fZ', $2, '+' || (i / 1000.0) || ' seconds'),
		       CASE i % 4 WHEN 0 THEN 'login.succeeded' WHEN 1 THEN 'login.failed' WHEN 2 THEN 'session.ended' ELSE 'user.granted_admin' END,
		       CASE WHEN i % 4 = 0 THEN $4 END, CASE WHEN i % 2 = 0 THEN $4 ELSE $5 END,
		       '192.0.2.1', '{"reason":"bulk"}'
		FROM (SELECT i, hex(randomblob(16)) AS h FROM g) WHERE $3 = $3`,
}

func bulkAudit(t *testing.T, s *sqlstore.Store, n int, start time.Time, a, b uuid.UUID) {
	t.Helper()
	q := bulkEvents[s.Engine()]
	if s.Engine() == "sqlite" {
		// SQLite's %f has milliseconds; widen to the stored microsecond form.
		q = strings.Replace(q, `strftime('%Y-%m-%dT%H:%M:%fZ', $2, '+' || (i / 1000.0) || ' seconds')`,
			`replace(strftime('%Y-%m-%dT%H:%M:%fZ', $2, '+' || (i / 1000.0) || ' seconds'), 'Z', '000Z')`, 1)
	}
	if _, err := s.DB().Exec(q, n, stamp(start), "x", a.String(), b.String()); err != nil {
		t.Fatalf("bulk audit events: %v", err)
	}
}

// TestAuditEventsCommitWithTheirChange: an event recorded in a
// transaction that fails is gone with the change, and the hook never hears
// of it; one that commits is stored and heard of once, after the commit.
func TestAuditEventsCommitWithTheirChange(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var (
				mu    sync.Mutex
				heard []audit.Event
				s     *sqlstore.Store
			)
			stored := func(id uuid.UUID) bool {
				var n int
				if err := s.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE id = $1`, id).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n == 1
			}
			s = dbtest.OpenAudited(t, engine, func(e audit.Event) {
				mu.Lock()
				defer mu.Unlock()
				heard = append(heard, e)
				if !stored(e.ID) { // on another connection: only a committed row is visible
					t.Errorf("the hook heard of %s before it committed", e.Type)
				}
			})
			ctx := audit.WithSource(context.Background(), audit.Source{IP: "192.0.2.9", UserAgent: "agent/1", RequestID: "req-1"})
			u := newUser("alice", "user")
			failure := errors.New("injected after the event, before commit")
			err := s.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.InsertUser(ctx, u); err != nil {
					return err
				}
				if err := s.RecordEvent(ctx, audit.New(ctx, t0, audit.UserSignedUp, uuid.Nil, u.ID, nil)); err != nil {
					return err
				}
				return failure
			})
			if !errors.Is(err, failure) {
				t.Fatalf("WithinTx = %v", err)
			}
			if _, err := s.UserByID(ctx, u.ID); err == nil {
				t.Fatal("the rolled-back user is there")
			}
			var n int
			if err := s.DB().QueryRow(`SELECT count(*) FROM audit_events`).Scan(&n); err != nil || n != 0 || len(heard) != 0 {
				t.Fatalf("after the rollback: %d events stored, %d heard (%v)", n, len(heard), err)
			}

			e := audit.New(ctx, t0, audit.UserSignedUp, uuid.Nil, u.ID, nil)
			err = s.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.InsertUser(ctx, u); err != nil {
					return err
				}
				if err := s.RecordEvent(ctx, e); err != nil {
					return err
				}
				if len(heard) != 0 {
					t.Error("the hook heard of the event inside its transaction")
				}
				return nil
			})
			if err != nil || len(heard) != 1 || heard[0].ID != e.ID {
				t.Fatalf("commit: %v, heard %+v", err, heard)
			}
			// Outside a transaction the statement commits alone, then the hook hears.
			e2 := audit.New(ctx, t0.Add(time.Second), audit.LoginFailed, uuid.Nil, u.ID, map[string]any{"reason": audit.ReasonWrongPassword})
			if err := s.RecordEvent(ctx, e2); err != nil || len(heard) != 2 {
				t.Fatalf("alone: %v, heard %d", err, len(heard))
			}
			got, err := s.AuditEvents(ctx, audit.Query{Limit: 10})
			if err != nil || len(got) != 2 {
				t.Fatalf("AuditEvents = %+v, %v", got, err)
			}
			g := got[0]
			if g.ID != e2.ID || !g.OccurredAt.Equal(e2.OccurredAt) || g.Type != audit.LoginFailed || !g.Actor.ID.IsNil() ||
				g.Target.ID != u.ID || g.Target.Username != "alice" || g.IP != "192.0.2.9" || g.UserAgent != "agent/1" ||
				g.RequestID != "req-1" || g.Details["reason"] != audit.ReasonWrongPassword {
				t.Fatalf("read back %+v, wrote %+v", g, e2)
			}
			if len(got[1].Details) != 0 {
				t.Fatalf("empty details read back as %v", got[1].Details)
			}
		})
	}
}

// TestAuditPages walks the trail under every kind of filter, by cursor,
// and checks each walk against the filter applied to the whole trail:
// same events, newest first, ties by id.
func TestAuditPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		a, b := insertUser(t, s, "alice"), insertUser(t, s, "bobby")
		bulkAudit(t, s, 400, t0, a.ID, b.ID)
		// Ties: three events at one instant.
		for range 3 {
			if err := s.RecordEvent(ctx, audit.New(ctx, t0.Add(100*time.Millisecond), audit.AdminGranted, a.ID, b.ID, nil)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.AuditEvents(ctx, audit.Query{Limit: 1000})
		if err != nil || len(all) != 403 {
			t.Fatalf("whole trail: %d events, %v", len(all), err)
		}
		if !slices.IsSortedFunc(all, func(x, y audit.Event) int {
			if c := y.OccurredAt.Compare(x.OccurredAt); c != 0 {
				return c
			}
			return strings.Compare(y.ID.String(), x.ID.String())
		}) {
			t.Fatal("the trail is not newest first, ties by id")
		}
		since, until := t0.Add(50*time.Millisecond), t0.Add(300*time.Millisecond)
		for name, c := range map[string]struct {
			q    audit.Query
			keep func(e audit.Event) bool
		}{
			"all":       {audit.Query{}, func(audit.Event) bool { return true }},
			"one type":  {audit.Query{Types: []audit.Type{audit.AdminGranted}}, func(e audit.Event) bool { return e.Type == audit.AdminGranted }},
			"two types": {audit.Query{Types: []audit.Type{audit.LoginFailed, audit.AdminGranted}}, func(e audit.Event) bool { return e.Type == audit.LoginFailed || e.Type == audit.AdminGranted }},
			"target id": {audit.Query{TargetID: b.ID}, func(e audit.Event) bool { return e.Target.ID == b.ID }},
			"target":    {audit.Query{Target: "BOBBY"}, func(e audit.Event) bool { return e.Target.ID == b.ID }},
			"actor":     {audit.Query{Actor: "alice"}, func(e audit.Event) bool { return e.Actor.ID == a.ID }},
			"unknown":   {audit.Query{Target: "nobody"}, func(audit.Event) bool { return false }},
			"window": {audit.Query{Since: since, Until: until, Types: []audit.Type{audit.SessionEnded, audit.LoginSucceeded}}, func(e audit.Event) bool {
				return !e.OccurredAt.Before(since) && e.OccurredAt.Before(until) && (e.Type == audit.SessionEnded || e.Type == audit.LoginSucceeded)
			}},
		} {
			var want []uuid.UUID
			for _, e := range all {
				if c.keep(e) {
					want = append(want, e.ID)
				}
			}
			var walked []uuid.UUID
			q := c.q
			q.Limit = 7
			for {
				page, err := s.AuditEvents(ctx, q)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, e := range page {
					walked = append(walked, e.ID)
				}
				if len(page) < q.Limit {
					break
				}
				p := audit.PositionOf(page[len(page)-1])
				q.After = &p
			}
			if !slices.Equal(walked, want) {
				t.Errorf("%s: walked %d events, want %d (or another order)", name, len(walked), len(want))
			}
		}
	})
}

// TestAuditQueryPlans: with 200,000 events, every page of the trail (the
// first, one deep by cursor, each filter) and the retention purge read
// through an index: no sequential scan of audit_events, no sort of it.
// The README has the timings at 5,000,000 (go run ./bench -only k).
func TestAuditQueryPlans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		a, b := insertUser(t, s, "alice"), insertUser(t, s, "bobby")
		bulkAudit(t, s, 200_000, t0, a.ID, b.ID)
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		deep := t0.Add(40 * time.Second) // 40,000 events from the oldest: 160,000 deep
		for name, q := range s.AuditQueries(b.ID, "alice", deep) {
			plan := explain(t, s, q.SQL, q.Args)
			if name == "purge" {
				if !strings.Contains(plan, "audit_events_occurred_at_idx") {
					t.Errorf("the purge does not find its batch through the occurred_at index:\n%s", plan)
				}
				continue
			}
			if strings.Contains(plan, "Seq Scan on audit_events") || strings.Contains(plan, "SCAN audit_events\n") ||
				strings.HasSuffix(plan, "SCAN audit_events") || strings.Contains(plan, "Bitmap Heap Scan on audit_events") {
				t.Errorf("%s reads audit_events without an index range:\n%s", name, plan)
			}
			if strings.Contains(plan, "USE TEMP B-TREE FOR ORDER BY") && name != "two types" {
				t.Errorf("%s sorts:\n%s", name, plan)
			}
			for _, line := range strings.Split(plan, "\n") {
				if strings.HasPrefix(strings.TrimLeft(line, " ->"), "Sort") && name != "two types" {
					t.Errorf("%s sorts (%q):\n%s", name, line, plan)
				}
			}
		}
	})
}

// TestAuditRetention: 100,000 events past the retention beside 5,000
// recent ones; the purge takes exactly the old ones, in batches, while
// events keep being recorded.
func TestAuditRetention(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		a, b := insertUser(t, s, "alice"), insertUser(t, s, "bobby")
		now := time.Now().UTC()
		cutoff := now.Add(-8760 * time.Hour)
		bulkAudit(t, s, 100_000, cutoff.Add(-200*time.Second), a.ID, b.ID) // all before the cutoff
		bulkAudit(t, s, 5_000, now.Add(-time.Hour), a.ID, b.ID)
		stop := make(chan struct{})
		var (
			wg       sync.WaitGroup
			recorded int
			recErr   error
		)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if recErr = s.RecordEvent(ctx, audit.New(ctx, time.Now(), audit.LoginSucceeded, a.ID, a.ID, nil)); recErr != nil {
					return
				}
				recorded++
				time.Sleep(2 * time.Millisecond)
			}
		})
		n, err := s.DeleteOldAuditEvents(ctx, cutoff)
		close(stop)
		wg.Wait()
		if err != nil || n != 100_000 {
			t.Fatalf("DeleteOldAuditEvents = %d, %v; want 100000", n, err)
		}
		if recErr != nil || recorded == 0 {
			t.Fatalf("recording during the purge: %d recorded, %v", recorded, recErr)
		}
		var left int
		if err := s.DB().QueryRow(`SELECT count(*) FROM audit_events`).Scan(&left); err != nil || left != 5_000+recorded {
			t.Fatalf("%d events left (%v), want %d", left, err, 5_000+recorded)
		}
	})
}
