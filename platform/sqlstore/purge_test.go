package sqlstore_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/mfa"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// purgeKeep is the retention of the purge tests: the cutoffs of the kinds that
// have one lie well before now, so that a kind purged as of now instead
// loses its live row.
var purgeKeep = sqlstore.Retention{Attempts: time.Hour, Mail: 24 * time.Hour, Audit: 365 * 24 * time.Hour, Webhooks: 30 * 24 * time.Hour}

// purgeRow is one row of a kind Purge deletes: where it is, whether a
// purge as of t0 must take it, and whether one two days later must leave
// it all the same.
type purgeRow struct {
	table, key  string
	id          any
	gone, stays bool
}

// purgeRows stores, as of t0, one row of every kind that Purge(t0,
// purgeKeep) must delete and one that it must leave, and returns them.
func purgeRows(t *testing.T, s *sqlstore.Store, u user.User) []purgeRow {
	t.Helper()
	ctx := context.Background()
	var rows []purgeRow
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	endpoint, waiting := addEndpoint(t, s, "user.deleted"), addEndpoint(t, s, "user.deleted")
	for _, gone := range []bool{true, false} {
		// Expired at t0, or live for a few minutes more.
		at := t0.Add(time.Minute)
		if gone {
			at = t0.Add(-time.Minute)
		}
		ss := startSession(t, s, u, at.Add(-policy.TTL))
		rows = append(rows, purgeRow{"sessions", "id", ss.ID, gone, false})

		// A window began before purgeKeep.Attempts, or within it.
		start, key := t0.Add(-purgeKeep.Attempts/2), "ip:live"
		if gone {
			start, key = t0.Add(-2*purgeKeep.Attempts), "ip:stale"
		}
		_, err := s.ReserveAttempts(ctx, start, time.Minute, []auth.Limit{{Key: key, Max: 5}})
		check(err)
		rows = append(rows, purgeRow{"attempt_windows", "key", key, gone, false})

		// A message finished before purgeKeep.Mail, or within it; and
		// one as old that was never sent, which stays.
		created := t0.Add(-purgeKeep.Mail / 2)
		if gone {
			created = t0.Add(-2 * purgeKeep.Mail)
		}
		m := queueMail(t, s, ctx, "a@example.com", created, true)
		check(s.MailSent(ctx, m.ID, created.Add(time.Minute)))
		rows = append(rows, purgeRow{"mail_outbox", "id", m.ID, gone, false})
		if gone {
			m := queueMail(t, s, ctx, "b@example.com", created, false)
			rows = append(rows, purgeRow{"mail_outbox", "id", m.ID, false, true})
		}

		tok := onetime.Token{ID: randomID(), UserID: u.ID, Purpose: onetime.Recovery, Email: "a@example.com",
			CreatedAt: at.Add(-time.Hour), ExpiresAt: at}
		check(s.InsertToken(ctx, tok))
		rows = append(rows, purgeRow{"one_time_tokens", "id", tok.ID, gone, false})

		_, id := session.NewPendingSecret()
		check(s.InsertPendingLogin(ctx, session.Pending{ID: id, UserID: u.ID, VerifiedHash: "h",
			CreatedAt: at.Add(-5 * time.Minute), ExpiresAt: at, UserAgent: "ua", IP: "192.0.2.1"}))
		rows = append(rows, purgeRow{"pending_logins", "id", id, gone, false})

		c := mfa.Ceremony{ID: randomID(), Purpose: mfa.CeremonyRegister, UserID: u.ID, Session: []byte("{}"), ExpiresAt: at}
		check(s.InsertCeremony(ctx, c))
		rows = append(rows, purgeRow{"webauthn_challenges", "id", c.ID, gone, false})

		f := newFlow(u.ID, at)
		check(s.InsertFlow(ctx, f))
		rows = append(rows, purgeRow{"oauth_flows", "state_hash", f.StateHash, gone, false})

		// An event that occurred before purgeKeep.Audit, or within it:
		// kept for ever by a retention of 0.
		occurred := t0.Add(-time.Hour)
		if gone {
			occurred = t0.Add(-purgeKeep.Audit - 24*time.Hour)
		}
		e := audit.New(ctx, occurred, audit.LoginSucceeded, u.ID, u.ID, nil)
		check(s.RecordEvent(ctx, e))
		rows = append(rows, purgeRow{"audit_events", "id", e.ID, gone, !gone})

		// A delivery finished before purgeKeep.Webhooks, or within it;
		// and one as old still waiting (its endpoint off), which stays.
		made := t0.Add(-purgeKeep.Webhooks / 2)
		if gone {
			made = t0.Add(-purgeKeep.Webhooks - time.Hour)
		}
		rows = append(rows, purgeRow{"webhook_deliveries", "id", webhookDelivery(t, s, endpoint.ID, made, true), gone, false})
		if gone {
			rows = append(rows, purgeRow{"webhook_deliveries", "id", webhookDelivery(t, s, waiting.ID, made, false), false, true})
		}
	}
	return rows
}

// webhookDelivery queues a test delivery made at made, and delivers it
// when finished.
func webhookDelivery(t *testing.T, s *sqlstore.Store, endpoint uuid.UUID, made time.Time, finished bool) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id, err := uuid.NewV7AtTime(made)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.QueueWebhookTest(ctx, endpoint, id, []byte("{}"), made); err != nil {
		t.Fatal(err)
	}
	if finished {
		c, err := s.ClaimWebhookDeliveries(ctx, endpoint, made, time.Minute, 1)
		if err != nil || len(c) != 1 || c[0].ID != id {
			t.Fatalf("claim %+v, %v", c, err)
		}
		if err := s.RecordWebhookAttempts(ctx, sqlstore.WebhookAttempt{Delivery: c[0], Outcome: sqlstore.WebhookDelivered, At: made, Status: 204}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func randomID() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// there reports whether r's row is stored.
func there(t *testing.T, s *sqlstore.Store, r purgeRow) bool {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM `+r.table+` WHERE `+r.key+` = $1`, r.id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestPurge: one Purge deletes every kind of expired or stale row, and
// each kind's rows only, counted by kind; a live row of every kind stays.
// Purge works as of the time it is given, and an audit retention of 0
// keeps every event.
func TestPurge(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		rows := purgeRows(t, s, insertUser(t, s, "alice"))
		for _, r := range rows {
			if !there(t, s, r) {
				t.Fatalf("%s %v was not stored", r.table, r.id)
			}
		}
		p, err := s.Purge(ctx, t0, purgeKeep)
		want := sqlstore.Purged{Sessions: 1, AttemptWindows: 1, Mail: 1, Tokens: 1, PendingLogins: 1, Ceremonies: 1, Flows: 1, AuditEvents: 1, Webhooks: 1}
		if err != nil || p != want || p.Total() != 9 {
			t.Fatalf("Purge = %+v (total %d), %v; want %+v (total 9)", p, p.Total(), err, want)
		}
		for _, r := range rows {
			if there(t, s, r) == r.gone {
				t.Errorf("%s %v: there %v after the purge", r.table, r.id, !r.gone)
			}
		}

		// Two days on, every row left has expired, but an audit
		// retention of 0 keeps the events, and unsent mail and
		// undelivered deliveries stay.
		p, err = s.Purge(ctx, t0.Add(48*time.Hour), sqlstore.Retention{Attempts: purgeKeep.Attempts, Mail: purgeKeep.Mail, Webhooks: 47 * time.Hour})
		want.AuditEvents = 0
		if err != nil || p != want || p.Total() != 8 {
			t.Fatalf("second Purge = %+v (total %d), %v; want %+v (total 8)", p, p.Total(), err, want)
		}
		for _, r := range rows {
			if there(t, s, r) != r.stays {
				t.Errorf("%s %v: there %v after the second purge", r.table, r.id, !r.stays)
			}
		}
	})
}

// TestPurgeStopsAtAFailure: when one kind's delete fails, Purge returns
// the counts of the kinds before it and an error that names the kind, and
// deletes nothing after it.
func TestPurgeStopsAtAFailure(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		rows := purgeRows(t, s, insertUser(t, s, "alice"))
		if _, err := s.DB().ExecContext(ctx, `DROP TABLE mail_outbox`); err != nil {
			t.Fatal(err)
		}
		p, err := s.Purge(ctx, t0, purgeKeep)
		if err == nil || !strings.HasPrefix(err.Error(), "purge old mail: ") {
			t.Fatalf("Purge with no outbox: %v; want an error about old mail", err)
		}
		if want := (sqlstore.Purged{Sessions: 1, AttemptWindows: 1}); p != want {
			t.Fatalf("Purge with no outbox = %+v; want %+v", p, want)
		}
		for _, r := range rows {
			switch r.table {
			case "mail_outbox":
			case "sessions", "attempt_windows": // purged before the failure
				if there(t, s, r) == r.gone {
					t.Errorf("%s %v: there %v after the purge", r.table, r.id, !r.gone)
				}
			default:
				if !there(t, s, r) {
					t.Errorf("%s %v deleted after the failure", r.table, r.id)
				}
			}
		}
	})
}

// TestPurgeKeepsEachWindowForItsLength: with the configured windows under
// an hour (Retention.Attempts 15 minutes), a purge takes the ended short
// windows and keeps an hourly one (a recovery cap) until its own end; a
// window written without its end (by the release before) goes after
// Retention.Attempts, as that release purged it.
func TestPurgeKeepsEachWindowForItsLength(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		keep := sqlstore.Retention{Attempts: 15 * time.Minute, Mail: time.Hour}
		begun := t0.Add(-30 * time.Minute)
		for key, length := range map[string]time.Duration{"recovery:address:x": time.Hour, "ip:short": 15 * time.Minute} {
			if _, err := s.ReserveAttempts(ctx, begun, length, []auth.Limit{{Key: key, Max: 3}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB().Exec(`INSERT INTO attempt_windows (key, attempts, window_start) VALUES ('ip:old-release', 1, $1)`, stamp(begun)); err != nil {
			t.Fatal(err)
		}
		// An hourly window that ended and began again: its new end counts.
		for _, at := range []time.Time{t0.Add(-2 * time.Hour), begun} {
			if _, err := s.ReserveAttempts(ctx, at, time.Hour, []auth.Limit{{Key: "recovery:address:again", Max: 3}}); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := s.Purge(ctx, t0, keep); err != nil || p.AttemptWindows != 2 {
			t.Fatalf("Purge = %+v, %v; want the short and the old release's windows", p, err)
		}
		if attempts(t, s, "recovery:address:x") != 1 || attempts(t, s, "recovery:address:again") != 1 || attempts(t, s, "ip:short") != -1 || attempts(t, s, "ip:old-release") != -1 {
			t.Fatalf("after the purge: hourly %d and %d, short %d, old release's %d; want 1, 1, none, none",
				attempts(t, s, "recovery:address:x"), attempts(t, s, "recovery:address:again"), attempts(t, s, "ip:short"), attempts(t, s, "ip:old-release"))
		}
		// The hourly window still counts: two more fill it.
		for range 2 {
			if rs, err := s.ReserveAttempts(ctx, t0, time.Hour, []auth.Limit{{Key: "recovery:address:x", Max: 3}}); err != nil || !rs[0].Counted || !rs[0].Start.Equal(begun) {
				t.Fatalf("the hourly window after the purge: %+v, %v", rs, err)
			}
		}
		if rs, _ := s.ReserveAttempts(ctx, t0.Add(29*time.Minute), time.Hour, []auth.Limit{{Key: "recovery:address:x", Max: 3}}); rs[0].Counted {
			t.Fatal("a 4th attempt in the hourly window")
		}
		if p, err := s.Purge(ctx, t0.Add(29*time.Minute), keep); err != nil || p.AttemptWindows != 0 {
			t.Fatalf("a purge before the hour: %+v, %v", p, err)
		}
		if p, err := s.Purge(ctx, t0.Add(30*time.Minute), keep); err != nil || p.AttemptWindows != 2 || attempts(t, s, "recovery:address:x") != -1 {
			t.Fatalf("a purge at the hour's end: %+v, %v", p, err)
		}
	})
}
