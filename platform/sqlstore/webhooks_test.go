package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// addEndpoint stores an enabled endpoint subscribed to events.
func addEndpoint(t *testing.T, s *sqlstore.Store, events ...string) webhook.Endpoint {
	t.Helper()
	e := webhook.Endpoint{ID: user.NewID(), URL: "https://hooks.example.com/" + strings.Join(events, ","), Description: "d",
		Events: events, Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	if err := s.InsertWebhookEndpoint(context.Background(), e, []byte("sealed-"+e.ID.String())); err != nil {
		t.Fatal(err)
	}
	return e
}

// deliveriesOf returns the (endpoint, event type) of every delivery of
// event id.
func deliveriesOf(t *testing.T, s *sqlstore.Store, id uuid.UUID) []string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT endpoint_id, event_type FROM webhook_deliveries WHERE id = $1 ORDER BY endpoint_id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ep uuid.UUID
		var typ string
		if err := rows.Scan(&ep, &typ); err != nil {
			t.Fatal(err)
		}
		out = append(out, ep.String()+" "+typ)
	}
	return out
}

func deliveryCount(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM webhook_deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEventsQueueTheirDeliveries: recording an event queues one delivery
// per enabled endpoint subscribed to its type or to every type, in the
// event's transaction: none with nobody subscribed, one, two; none for a
// disabled endpoint; none when the transaction rolls back. The body is
// the event as committed, with the target's user object and no client
// details.
func TestEventsQueueTheirDeliveries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		alice, admin := insertUser(t, s, "alice"), insertUser(t, s, "root.admin")
		ctx = audit.WithSource(ctx, audit.Source{IP: "192.0.2.7", UserAgent: "agent/1", RequestID: "req-1"})
		record := func(ctx context.Context, typ audit.Type, actor, target uuid.UUID) audit.Event {
			t.Helper()
			e := audit.New(ctx, t0, typ, actor, target, map[string]any{"reason": "x"})
			if err := s.RecordEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			return e
		}

		// Nobody subscribes: the event alone, no delivery.
		if e := record(ctx, audit.LoginSucceeded, alice.ID, alice.ID); deliveriesOf(t, s, e.ID) != nil {
			t.Fatalf("deliveries with no endpoint: %v", deliveriesOf(t, s, e.ID))
		}
		logins := addEndpoint(t, s, string(audit.LoginSucceeded), string(audit.UserCreated))
		if e := record(ctx, audit.UserInactivated, admin.ID, alice.ID); deliveryCount(t, s) != 0 {
			t.Fatalf("an event of a type nobody subscribes to queued %v", deliveriesOf(t, s, e.ID))
		}
		// One subscriber.
		one := record(ctx, audit.LoginSucceeded, alice.ID, alice.ID)
		if got := deliveriesOf(t, s, one.ID); !slices.Equal(got, []string{logins.ID.String() + " login.succeeded"}) {
			t.Fatalf("one subscriber: %v", got)
		}
		// Two: one by type, one by "*"; a disabled endpoint gets nothing.
		all := addEndpoint(t, s, webhook.AllEvents)
		off := addEndpoint(t, s, webhook.AllEvents)
		off.Enabled, off.UpdatedAt = false, t0
		if err := s.UpdateWebhookEndpoint(ctx, off); err != nil {
			t.Fatal(err)
		}
		two := record(ctx, audit.LoginSucceeded, alice.ID, alice.ID)
		want := []string{logins.ID.String() + " login.succeeded", all.ID.String() + " login.succeeded"}
		slices.Sort(want)
		if got := deliveriesOf(t, s, two.ID); !slices.Equal(got, want) {
			t.Fatalf("two subscribers: %v, want %v", got, want)
		}
		// Rolled back: neither the event nor a delivery.
		before := deliveryCount(t, s)
		boom := errors.New("boom")
		var gone audit.Event
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			gone = record(ctx, audit.LoginSucceeded, alice.ID, alice.ID)
			return boom
		})
		if !errors.Is(err, boom) || deliveryCount(t, s) != before || deliveriesOf(t, s, gone.ID) != nil {
			t.Fatalf("a rolled-back event left %d deliveries (was %d): %v", deliveryCount(t, s), before, err)
		}

		// The body: the event as the audit API shows it, without the
		// client's ip, user agent and request id, with the target's user.
		inact := record(ctx, audit.UserInactivated, admin.ID, alice.ID)
		var payload string
		if err := s.DB().QueryRow(`SELECT payload FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2`, all.ID, inact.ID).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var body struct {
			Type      string    `json:"type"`
			Timestamp time.Time `json:"timestamp"`
			Data      map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(payload), &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != "user.inactivated" || !body.Timestamp.Equal(inact.OccurredAt) {
			t.Fatalf("body %s", payload)
		}
		keys := make([]string, 0, len(body.Data))
		for k := range body.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"actor", "details", "id", "occurred_at", "target", "type", "user"}) {
			t.Fatalf("data members %v", keys)
		}
		if !strings.Contains(string(body.Data["actor"]), `"username":"root.admin"`) || !strings.Contains(string(body.Data["target"]), `"username":"alice"`) ||
			!strings.Contains(string(body.Data["user"]), `"role":"user"`) || !strings.Contains(string(body.Data["user"]), `"is_active":true`) {
			t.Fatalf("parties or user object: %s", payload)
		}
		for _, leak := range []string{"192.0.2.7", "agent/1", "req-1", "argon2", "sealed"} {
			if strings.Contains(payload, leak) {
				t.Fatalf("the body carries %q: %s", leak, payload)
			}
		}
	})
}

// TestWebhookClaimsAreExclusive: replicas claiming one endpoint's
// deliveries at once (two stores on one database, eight claimers) never
// take the same delivery.
func TestWebhookClaimsAreExclusive(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t, engine)
			stores := []*sqlstore.Store{dbtest.OpenOn(t, engine, url, nil), dbtest.OpenOn(t, engine, url, nil)}
			ctx := context.Background()
			ep := addEndpoint(t, stores[0], webhook.AllEvents)
			for i := range 200 {
				e := audit.New(ctx, t0.Add(time.Duration(i)*time.Millisecond), audit.LoginFailed, uuid.Nil, uuid.Nil, nil)
				if err := stores[0].RecordEvent(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			claimedOnce(t, stores, "webhook deliveries", func(s *sqlstore.Store) ([]uuid.UUID, error) {
				c, err := s.ClaimWebhookDeliveries(ctx, ep.ID, t0.Add(time.Hour), time.Hour, 7)
				ids := make([]uuid.UUID, len(c))
				for k, d := range c {
					ids[k] = d.ID
				}
				return ids, err
			})
		})
	}
}

// byClaimID sorts claimed deliveries by id: a claim returns them in no
// particular order.
func byClaimID(c []sqlstore.WebhookDelivery) {
	slices.SortFunc(c, func(a, b sqlstore.WebhookDelivery) int { return strings.Compare(a.ID.String(), b.ID.String()) })
}

// TestWebhookAttempts: a due delivery is claimed once per lease and comes
// back when its lease ends; each result is recorded only by the attempt
// that holds the claim; failures start the endpoint's failure clock and a
// success stops it; disabling records webhook.disabled once, which the
// other endpoints receive, and stops the endpoint's claims.
func TestWebhookAttempts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		ep := addEndpoint(t, s, string(audit.LoginFailed))
		watcher := addEndpoint(t, s, string(audit.WebhookDisabled))
		var events []uuid.UUID
		for i := range 3 {
			e := audit.New(ctx, t0.Add(time.Duration(i)*time.Second), audit.LoginFailed, uuid.Nil, uuid.Nil, nil)
			if err := s.RecordEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			events = append(events, e.ID)
		}
		if due, err := s.DueWebhookEndpoints(ctx, t0.Add(time.Minute)); err != nil || !slices.Equal(due, []uuid.UUID{ep.ID}) {
			t.Fatalf("due endpoints %v, %v", due, err)
		}
		if due, ok, err := s.OldestDueWebhook(ctx, t0.Add(time.Minute)); err != nil || !ok || !due.Equal(t0) {
			t.Fatalf("oldest due %v %v %v", due, ok, err)
		}
		claimed, err := s.ClaimWebhookDeliveries(ctx, ep.ID, t0.Add(time.Minute), time.Minute, 2)
		byClaimID(claimed)
		if err != nil || len(claimed) != 2 || claimed[0].ID != events[0] || claimed[1].ID != events[1] || claimed[0].Attempts != 1 ||
			!strings.Contains(string(claimed[0].Payload), `"type":"login.failed"`) {
			t.Fatalf("claim %+v, %v", claimed, err)
		}
		if again, err := s.ClaimWebhookDeliveries(ctx, ep.ID, t0.Add(90*time.Second), time.Minute, 10); err != nil || len(again) != 1 || again[0].ID != events[2] {
			t.Fatalf("claimed within the lease: %+v, %v", again, err)
		}
		target, ok, err := s.WebhookTarget(ctx, ep.ID)
		if err != nil || !ok || target.URL != ep.URL || string(target.Secret) != "sealed-"+ep.ID.String() || !target.FailingSince.IsZero() {
			t.Fatalf("target %+v %v %v", target, ok, err)
		}
		// The first fails (a retry), the second's lease ends unrecorded.
		at := t0.Add(2 * time.Minute)
		record := func(a sqlstore.WebhookAttempt) {
			t.Helper()
			if err := s.RecordWebhookAttempts(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		record(sqlstore.WebhookAttempt{Delivery: claimed[0], Outcome: sqlstore.WebhookRetry, At: at, Status: 500, Next: at.Add(5 * time.Second)})
		if target, _, _ := s.WebhookTarget(ctx, ep.ID); !target.FailingSince.Equal(at) {
			t.Fatalf("failing since %v, want %v", target.FailingSince, at)
		}
		retaken, err := s.ClaimWebhookDeliveries(ctx, ep.ID, at.Add(10*time.Second), time.Minute, 10)
		byClaimID(retaken)
		if err != nil || len(retaken) != 2 || retaken[0].ID != events[0] || retaken[0].Attempts != 2 || retaken[1].ID != events[1] || retaken[1].Attempts != 2 {
			t.Fatalf("after the retry and the lease: %+v, %v", retaken, err)
		}
		// The first claim of events[1], late, records nothing: the
		// second holds it.
		record(sqlstore.WebhookAttempt{Delivery: claimed[1], Outcome: sqlstore.WebhookDelivered, At: at, Status: 204})
		record(sqlstore.WebhookAttempt{Delivery: retaken[1], Outcome: sqlstore.WebhookGivenUp, At: at.Add(11 * time.Second), Status: 400})
		record(sqlstore.WebhookAttempt{Delivery: retaken[0], Outcome: sqlstore.WebhookDelivered, At: at.Add(11 * time.Second), Status: 200})
		page, err := s.WebhookDeliveries(ctx, ep.ID, uuid.Nil, 10)
		if err != nil || len(page) != 3 {
			t.Fatalf("deliveries %+v, %v", page, err)
		}
		byID := map[uuid.UUID]webhook.Delivery{}
		for _, d := range page {
			byID[d.ID] = d
		}
		if d := byID[events[1]]; d.GivenUpAt.IsZero() || !d.DeliveredAt.IsZero() || d.LastStatus != 400 || d.Attempts != 2 || !d.NextAttemptAt.IsZero() {
			t.Fatalf("the late result overwrote the current one: %+v", d)
		}
		if d := byID[events[0]]; d.DeliveredAt.IsZero() || d.LastStatus != 200 {
			t.Fatalf("delivered: %+v", d)
		}
		if d := byID[events[2]]; d.Attempts != 1 || d.NextAttemptAt.IsZero() || d.LastStatus != 0 {
			t.Fatalf("still leased: %+v", d)
		}
		if target, _, _ := s.WebhookTarget(ctx, ep.ID); !target.FailingSince.IsZero() {
			t.Fatal("a success left the failure clock running")
		}
		// Newest first, in pages.
		if page[0].ID != events[2] || page[2].ID != events[0] {
			t.Fatalf("order %v", page)
		}
		if next, err := s.WebhookDeliveries(ctx, ep.ID, page[1].ID, 10); err != nil || len(next) != 1 || next[0].ID != events[0] {
			t.Fatalf("the page after %s: %+v, %v", page[1].ID, next, err)
		}
		// Retried by hand: due again, its attempts counting on.
		if ok, err := s.RetryWebhookDelivery(ctx, ep.ID, events[1], at.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("retry: %v %v", ok, err)
		}
		if ok, err := s.RetryWebhookDelivery(ctx, watcher.ID, events[1], at.Add(time.Hour)); err != nil || ok {
			t.Fatalf("retry through another endpoint: %v %v", ok, err)
		}
		third, err := s.ClaimWebhookDeliveries(ctx, ep.ID, at.Add(time.Hour), time.Minute, 10)
		byClaimID(third)
		if err != nil || len(third) != 2 || third[0].ID != events[1] || third[0].Attempts != 3 || third[1].ID != events[2] || third[1].Attempts != 2 {
			t.Fatalf("after the retry by hand: %+v, %v", third, err)
		}

		// A 410: the endpoint is disabled, once, with its event, which
		// the watcher receives; its deliveries are no longer claimed.
		gone := at.Add(time.Hour + time.Second)
		record(sqlstore.WebhookAttempt{Delivery: third[0], Outcome: sqlstore.WebhookGivenUp, At: gone, Status: 410, Disable: "gone"})
		record(sqlstore.WebhookAttempt{Delivery: third[1], Outcome: sqlstore.WebhookGivenUp, At: gone, Status: 410, Disable: "gone"})
		if _, ok, _ := s.WebhookTarget(ctx, ep.ID); ok {
			t.Fatal("the endpoint is still enabled")
		}
		got, err := s.AuditEvents(ctx, audit.Query{Types: []audit.Type{audit.WebhookDisabled}, Limit: 10})
		if err != nil || len(got) != 1 || got[0].Details["webhook"] != ep.ID.String() || got[0].Details["reason"] != "gone" || !got[0].Actor.ID.IsNil() {
			t.Fatalf("webhook.disabled events %+v, %v", got, err)
		}
		if d := deliveriesOf(t, s, got[0].ID); !slices.Equal(d, []string{watcher.ID.String() + " webhook.disabled"}) {
			t.Fatalf("the watcher's deliveries %v", d)
		}
		if due, err := s.DueWebhookEndpoints(ctx, gone.Add(time.Hour)); err != nil || !slices.Equal(due, []uuid.UUID{watcher.ID}) {
			t.Fatalf("due endpoints with one disabled: %v, %v", due, err)
		}
		if c, err := s.ClaimWebhookDeliveries(ctx, watcher.ID, gone, time.Minute, 10); err != nil || len(c) != 1 {
			t.Fatalf("the watcher's claim %+v, %v", c, err)
		}
	})
}

// TestWebhookEndpoints: endpoints are stored with their subscriptions,
// listed, changed (subscriptions replaced, the failure clock restarted by
// a new URL), their secret rotated (the old one kept beside it) and
// deleted with their deliveries.
func TestWebhookEndpoints(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		a := addEndpoint(t, s, "login.succeeded", "user.created")
		b := addEndpoint(t, s, webhook.AllEvents)
		list, err := s.WebhookEndpoints(ctx)
		if err != nil || len(list) != 2 || list[0].ID != a.ID || !slices.Equal(list[0].Events, a.Events) || !slices.Equal(list[1].Events, []string{"*"}) ||
			list[0].URL != a.URL || !list[0].CreatedAt.Equal(t0) || !list[0].Enabled {
			t.Fatalf("endpoints %+v, %v", list, err)
		}
		if _, err := s.WebhookEndpoint(ctx, user.NewID()); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("an unknown endpoint: %v", err)
		}
		// A failure starts the clock; a change of URL restarts it.
		if err := s.RecordEvent(ctx, audit.New(ctx, t0, audit.LoginSucceeded, uuid.Nil, uuid.Nil, nil)); err != nil {
			t.Fatal(err)
		}
		c, err := s.ClaimWebhookDeliveries(ctx, a.ID, t0, time.Minute, 1)
		if err != nil || len(c) != 1 {
			t.Fatal(c, err)
		}
		if err := s.RecordWebhookAttempts(ctx, sqlstore.WebhookAttempt{Delivery: c[0], Outcome: sqlstore.WebhookRetry, At: t0, Next: t0}); err != nil {
			t.Fatal(err)
		}
		a.Description, a.Events, a.UpdatedAt = "same url", []string{"user.deleted"}, t0.Add(time.Hour)
		if err := s.UpdateWebhookEndpoint(ctx, a); err != nil {
			t.Fatal(err)
		}
		if tg, _, _ := s.WebhookTarget(ctx, a.ID); tg.FailingSince.IsZero() {
			t.Fatal("a change of description stopped the failure clock")
		}
		a.URL = "https://elsewhere.example.com/"
		if err := s.UpdateWebhookEndpoint(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.WebhookEndpoint(ctx, a.ID)
		if err != nil || got.URL != a.URL || got.Description != "same url" || !slices.Equal(got.Events, []string{"user.deleted"}) || !got.UpdatedAt.Equal(a.UpdatedAt) {
			t.Fatalf("after the update %+v, %v", got, err)
		}
		if tg, _, _ := s.WebhookTarget(ctx, a.ID); !tg.FailingSince.IsZero() {
			t.Fatal("a new URL kept the failure clock")
		}
		missing := a
		missing.ID = user.NewID()
		if err := s.UpdateWebhookEndpoint(ctx, missing); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("update of an unknown endpoint: %v", err)
		}
		// Rotation: the old secret moves beside the new one.
		until := t0.Add(24 * time.Hour)
		if err := s.RotateWebhookSecret(ctx, a.ID, []byte("new"), until, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if tg, _, _ := s.WebhookTarget(ctx, a.ID); string(tg.Secret) != "new" || string(tg.PreviousSecret) != "sealed-"+a.ID.String() || !tg.PreviousUntil.Equal(until) {
			t.Fatalf("after the rotation %+v", tg)
		}
		if err := s.RotateWebhookSecret(ctx, missing.ID, []byte("new"), until, t0); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("rotation of an unknown endpoint: %v", err)
		}
		// Deleted with its subscriptions and deliveries; the other stays.
		if err := s.DeleteWebhookEndpoint(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWebhookEndpoint(ctx, a.ID); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("a second delete: %v", err)
		}
		var left int
		s.DB().QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1`, a.ID).Scan(&left)
		if list, _ := s.WebhookEndpoints(ctx); len(list) != 1 || list[0].ID != b.ID || left != 0 {
			t.Fatalf("after the delete: %+v, %d deliveries left", list, left)
		}
	})
}

// TestWebhookTestDelivery: a test delivery goes to its endpoint alone,
// whatever it subscribes to, with the body given.
func TestWebhookTestDelivery(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		a, b := addEndpoint(t, s, "user.deleted"), addEndpoint(t, s, webhook.AllEvents)
		id := user.NewID()
		if err := s.QueueWebhookTest(ctx, a.ID, id, []byte(`{"type":"webhook.test"}`), t0); err != nil {
			t.Fatal(err)
		}
		if got := deliveriesOf(t, s, id); !slices.Equal(got, []string{a.ID.String() + " webhook.test"}) {
			t.Fatalf("test deliveries %v", got)
		}
		if c, err := s.ClaimWebhookDeliveries(ctx, b.ID, t0, time.Minute, 10); err != nil || len(c) != 0 {
			t.Fatalf("the other endpoint claimed %+v, %v", c, err)
		}
		if c, err := s.ClaimWebhookDeliveries(ctx, a.ID, t0, time.Minute, 10); err != nil || len(c) != 1 || string(c[0].Payload) != `{"type":"webhook.test"}` {
			t.Fatalf("claim %+v, %v", c, err)
		}
	})
}

// TestWebhookQueryPlans: with 20,000 deliveries on each of two endpoints
// (most delivered) and 30 endpoints, every webhook query reads
// webhook_deliveries and webhook_subscriptions through an index on both
// engines: no sequential scan, no sort step. webhook_endpoints and
// webhook_subscriptions hold the endpoints a super admin registered and
// their types (a few rows each): reading them whole is the planner's
// choice, and by design where every endpoint is visited.
func TestWebhookQueryPlans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var first webhook.Endpoint
		for i := range 30 {
			e := addEndpoint(t, s, string(audit.Types[i%len(audit.Types)]), string(audit.Types[(i+1)%len(audit.Types)]))
			if i == 0 {
				first = e
			}
		}
		second := addEndpoint(t, s, webhook.AllEvents)
		for _, ep := range []uuid.UUID{first.ID, second.ID} {
			q := map[string]string{
				"postgres": `INSERT INTO webhook_deliveries (endpoint_id, id, event_type, created_at, next_attempt_at, delivered_at)
					SELECT $1, gen_random_uuid(), 'login.succeeded', $2, $2, CASE WHEN g % 100 <> 0 THEN $2::timestamptz END FROM generate_series(1, 20000) g`,
				"sqlite": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 20000)
					INSERT INTO webhook_deliveries (endpoint_id, id, event_type, created_at, next_attempt_at, delivered_at)
					SELECT $1, lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21)),
					'login.succeeded', $2, $2, CASE WHEN i % 100 <> 0 THEN $2 END FROM (SELECT i, hex(randomblob(16)) AS h FROM g)`,
			}[s.Engine()]
			if _, err := s.DB().ExecContext(ctx, q, ep, stamp(t0)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		for _, q := range s.WebhookQueries(first.ID, t0) {
			plan := explain(t, s, q.SQL, q.Args)
			t.Logf("%s\n%s", q.SQL, plan)
			for _, line := range strings.Split(plan, "\n") {
				bare := strings.TrimLeft(line, " ->")
				seq := strings.Contains(line, "Seq Scan on webhook_deliveries") ||
					strings.HasPrefix(bare, "Sort") || strings.Contains(line, "TEMP B-TREE") ||
					strings.HasPrefix(line, "SCAN webhook_deliveries") && !strings.Contains(line, "USING")
				if seq {
					t.Errorf("%s\nreads without an index (%q):\n%s", q.SQL, line, plan)
				}
			}
		}
	})
}

// TestWebhookIDsOrderByTime: the purge's cutoff id sorts below every
// UUIDv7 made from its millisecond on, and above every one before, on
// both engines.
func TestWebhookIDsOrderByTime(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ep := addEndpoint(t, s, webhook.AllEvents)
		ctx := context.Background()
		cut := t0.Add(time.Hour)
		for _, at := range []time.Time{cut.Add(-time.Millisecond), cut, cut.Add(time.Millisecond)} {
			id, err := uuid.NewV7AtTime(at)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.QueueWebhookTest(ctx, ep.ID, id, []byte("{}"), at); err != nil {
				t.Fatal(err)
			}
		}
		var below int
		if err := s.DB().QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE id < $1`, sqlstore.FirstIDAt(cut)).Scan(&below); err != nil || below != 1 {
			t.Fatalf("%d ids below the cutoff, want 1: %v", below, err)
		}
		if got := sqlstore.FirstIDAt(time.UnixMilli(0x0123456789ab)).String(); got != "01234567-89ab-0000-0000-000000000000" {
			t.Fatalf("FirstIDAt = %s", got)
		}
	})
}

// TestResealWebhookSecrets: the webhook secrets under a key, current and
// previous, are counted under it, found among the keys in use, and moved
// by a reseal; a previous secret whose overlap has ended is dropped
// instead; one that does not open stays, counted as failed.
func TestResealWebhookSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		old := []byte("oldkey01")
		seal := func(key []byte, v string) []byte { return append(append([]byte{}, key...), v...) }
		a, b, c := addEndpoint(t, s, "*"), addEndpoint(t, s, "*"), addEndpoint(t, s, "*")
		for _, x := range []struct {
			id       uuid.UUID
			current  []byte
			previous []byte
			until    time.Time
		}{
			{a.ID, seal(old, "a"), nil, time.Time{}},
			{b.ID, seal([]byte("newkey01"), "b"), seal(old, "b-prev"), t0.Add(time.Hour)},
			{c.ID, seal(old, "broken"), seal(old, "c-prev"), t0.Add(-time.Hour)},
		} {
			if _, err := s.DB().Exec(`UPDATE webhook_endpoints SET secret = $2, previous_secret = $3, previous_until = $4 WHERE id = $1`,
				x.id, x.current, x.previous, nullStamp(x.until)); err != nil {
				t.Fatal(err)
			}
		}
		ids, err := s.MFAKeyIDs(ctx)
		if err != nil || !slices.ContainsFunc(ids, func(id []byte) bool { return string(id) == string(old) }) {
			t.Fatalf("key ids %q, %v", ids, err)
		}
		if rows, err := s.MFAKeyRows(ctx, old); err != nil || rows.Webhooks != 4 {
			t.Fatalf("rows under the old key %+v, %v", rows, err)
		}
		done, err := s.ResealWebhookSecrets(ctx, old, t0, func(id uuid.UUID, sealed []byte) ([]byte, error) {
			if strings.HasSuffix(string(sealed), "broken") {
				return nil, errors.New("does not open")
			}
			return seal([]byte("newkey01"), string(sealed[8:])), nil
		})
		if err != nil || done.Moved != 2 || done.Failed != 1 {
			t.Fatalf("reseal %+v, %v; want 2 moved (a, b's previous), 1 failed (c), c's expired previous dropped", done, err)
		}
		if rows, err := s.MFAKeyRows(ctx, old); err != nil || rows.Webhooks != 1 {
			t.Fatalf("rows left under the old key %+v, %v", rows, err)
		}
		if tg, _, _ := s.WebhookTarget(ctx, b.ID); string(tg.PreviousSecret) != "newkey01b-prev" {
			t.Fatalf("b's previous secret %q", tg.PreviousSecret)
		}
		if tg, _, _ := s.WebhookTarget(ctx, c.ID); tg.PreviousSecret != nil {
			t.Fatalf("c's expired previous secret stayed: %q", tg.PreviousSecret)
		}
	})
}

func nullStamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return stamp(t)
}

// TestWebhookBatchResults: a batch's results are recorded together: a
// batch with a delivery stops the failure clock, one of failures alone
// starts it at its first failure, and a released attempt neither counts
// nor fails.
func TestWebhookBatchResults(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		ep := addEndpoint(t, s, "*")
		for i := range 6 {
			if err := s.RecordEvent(ctx, audit.New(ctx, t0.Add(time.Duration(i)*time.Second), audit.LoginFailed, uuid.Nil, uuid.Nil, nil)); err != nil {
				t.Fatal(err)
			}
		}
		c, err := s.ClaimWebhookDeliveries(ctx, ep.ID, t0.Add(time.Minute), time.Minute, 6)
		if err != nil || len(c) != 6 {
			t.Fatal(c, err)
		}
		at := t0.Add(time.Minute)
		failing := func() time.Time {
			tg, _, _ := s.WebhookTarget(ctx, ep.ID)
			return tg.FailingSince
		}
		if err := s.RecordWebhookAttempts(ctx,
			sqlstore.WebhookAttempt{Delivery: c[0], Outcome: sqlstore.WebhookReleased, At: at, Next: at},
			sqlstore.WebhookAttempt{Delivery: c[1], Outcome: sqlstore.WebhookRetry, At: at.Add(2 * time.Second), Status: 500, Next: at.Add(time.Hour)},
			sqlstore.WebhookAttempt{Delivery: c[2], Outcome: sqlstore.WebhookRetry, At: at.Add(time.Second), Status: 502, Next: at.Add(time.Hour)},
		); err != nil {
			t.Fatal(err)
		}
		if got := failing(); !got.Equal(at.Add(time.Second)) {
			t.Fatalf("failing since %v, want the first failure", got)
		}
		if err := s.RecordWebhookAttempts(ctx,
			sqlstore.WebhookAttempt{Delivery: c[3], Outcome: sqlstore.WebhookRetry, At: at, Status: 500, Next: at.Add(time.Hour)},
			sqlstore.WebhookAttempt{Delivery: c[4], Outcome: sqlstore.WebhookDelivered, At: at, Status: 204},
		); err != nil {
			t.Fatal(err)
		}
		if got := failing(); !got.IsZero() {
			t.Fatalf("a batch with a delivery left the clock at %v", got)
		}
		if err := s.RecordWebhookAttempts(ctx, sqlstore.WebhookAttempt{Delivery: c[5], Outcome: sqlstore.WebhookReleased, At: at, Next: at}); err != nil {
			t.Fatal(err)
		}
		if got := failing(); !got.IsZero() {
			t.Fatalf("a released attempt started the clock: %v", got)
		}
		// The released ones are due again at once, their attempt counted.
		again, err := s.ClaimWebhookDeliveries(ctx, ep.ID, at, time.Minute, 10)
		if err != nil || len(again) != 2 || again[0].Attempts != 2 {
			t.Fatalf("after the release %+v, %v", again, err)
		}
	})
}
