package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// bulkSQL holds each engine's way of making many rows in one statement:
// generate_series on PostgreSQL, a recursive CTE on SQLite. $1 is the
// count; the rest are named per query.
var bulkSQL = map[string]map[string]string{
	"postgres": {
		// $2 user id, $3 expires_at, $4 absolute_expires_at
		"sessions": `INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
			SELECT sha256(($5 || g)::bytea), $2, $3, $3, $4, $3 FROM generate_series(1, $1) g`,
		// $2 window_start, $3 key prefix
		"throttle": `INSERT INTO attempt_windows (key, attempts, window_start)
			SELECT $3 || g, 1, $2 FROM generate_series(1, $1) g`,
		// $2 user id, $3 created_at and expires_at
		"tokens": `INSERT INTO one_time_tokens (id, user_id, purpose, email, created_at, expires_at)
			SELECT sha256(('t' || g)::bytea), $2, 'recovery', 'x@example.com', $3, $3 FROM generate_series(1, $1) g`,
		// $2 user id, $3 created_at and expires_at
		"pending": `INSERT INTO pending_logins (id, user_id, verified_hash, created_at, expires_at)
			SELECT sha256(('p' || g)::bytea), $2, '$hash', $3, $3 FROM generate_series(1, $1) g`,
		// $2 created_at: an authenticator for every user
		"totp": `INSERT INTO mfa_totp (user_id, secret, created_at, enabled_at) SELECT id, '\x00', $2, $2 FROM users WHERE $1 > 0`,
		// $2 user id, $3 created_at: passkeys, handles for every user, ceremonies
		"passkeys": `INSERT INTO webauthn_credentials (id, user_id, public_id, name, credential, created_at)
			SELECT sha256(('k' || g)::bytea), $2, gen_random_uuid(), 'k', '{}', $3 FROM generate_series(1, $1) g`,
		"handles": `INSERT INTO webauthn_users (user_id, handle) SELECT id, sha256(id::text::bytea) FROM users WHERE $1 > 0`,
		"ceremonies": `INSERT INTO webauthn_challenges (id, purpose, session, expires_at)
			SELECT sha256(('c' || g)::bytea), 'passkey', '{}', $2 FROM generate_series(1, $1) g`,
		// $2 user id, $3 created_at
		"codes": `INSERT INTO mfa_recovery_codes (user_id, digest, created_at)
			SELECT $2, sha256(('c' || g)::bytea), $3 FROM generate_series(1, $1) g`,
		// $2 created_at, $3 sent_at: finished messages
		"mail": `INSERT INTO mail_outbox (id, template, recipient, subject, text_body, html_body, secret, created_at, next_attempt_at, sent_at)
			SELECT gen_random_uuid(), 'verify_email', 'x@example.com', 's', '', '', true, $2, $2, $3 FROM generate_series(1, $1) g`,
		// $2 due_at: waiting recovery requests
		"recovery": `INSERT INTO recovery_requests (id, email, ip, user_agent, request_id, created_at, due_at)
			SELECT gen_random_uuid(), '\x00', '', '', '', $2, $2 FROM generate_series(1, $1) g`,
		// $2 user id, $3 created_at: identities of one user; flows
		"identities": `INSERT INTO identities (id, user_id, provider, issuer, subject, created_at)
			SELECT gen_random_uuid(), $2, 'corp', 'https://idp.example.com', 's' || g, $3 FROM generate_series(1, $1) g`,
		"flows": `INSERT INTO oauth_flows (state_hash, id, provider, purpose, nonce, verifier, binding, return_to, created_at, expires_at)
			SELECT sha256(('f' || g)::bytea), gen_random_uuid(), 'corp', 'sign_in', 'n', '\x00', sha256(('b' || g)::bytea), '/', $2, $2
			FROM generate_series(1, $1) g`,
		// $2 name prefix, $3 created_at
		"users": `INSERT INTO users (id, username, password_hash, role, is_active, created_at, updated_at)
			SELECT gen_random_uuid(), $2 || g, '$hash', CASE WHEN g % 3 = 0 THEN 'admin' ELSE 'user' END, g % 4 <> 0,
			       $3::timestamptz + (g % 50) * interval '1 second', $3::timestamptz + (g % 7) * interval '1 minute'
			FROM generate_series(1, $1) g`,
	},
	"sqlite": {
		"sessions": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
			SELECT randomblob(32), $2, $3, $3, $4, $3 FROM g WHERE $5 = $5`,
		"throttle": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO attempt_windows (key, attempts, window_start) SELECT $3 || i, 1, $2 FROM g`,
		"tokens": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO one_time_tokens (id, user_id, purpose, email, created_at, expires_at)
			SELECT randomblob(32), $2, 'recovery', 'x@example.com', $3, $3 FROM g`,
		"pending": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO pending_logins (id, user_id, verified_hash, created_at, expires_at) SELECT randomblob(32), $2, '$hash', $3, $3 FROM g`,
		"totp": `INSERT INTO mfa_totp (user_id, secret, created_at, enabled_at) SELECT id, x'00', $2, $2 FROM users WHERE $1 > 0`,
		"passkeys": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO webauthn_credentials (id, user_id, public_id, name, credential, created_at)
			SELECT randomblob(16), $2, lower(hex(randomblob(16))), 'k', '{}', $3 FROM g`,
		"handles": `INSERT INTO webauthn_users (user_id, handle) SELECT id, randomblob(32) FROM users WHERE $1 > 0`,
		"ceremonies": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO webauthn_challenges (id, purpose, session, expires_at) SELECT randomblob(32), 'passkey', '{}', $2 FROM g`,
		"codes": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO mfa_recovery_codes (user_id, digest, created_at) SELECT $2, randomblob(32), $3 FROM g`,
		"mail": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO mail_outbox (id, template, recipient, subject, text_body, html_body, secret, created_at, next_attempt_at, sent_at)
			SELECT lower(hex(randomblob(16))), 'verify_email', 'x@example.com', 's', '', '', 1, $2, $2, $3 FROM g`,
		"recovery": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO recovery_requests (id, email, ip, user_agent, request_id, created_at, due_at)
			SELECT lower(hex(randomblob(16))), x'00', '', '', '', $2, $2 FROM g`,
		"identities": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO identities (id, user_id, provider, issuer, subject, created_at)
			SELECT lower(hex(randomblob(16))), $2, 'corp', 'https://idp.example.com', 's' || i, $3 FROM g`,
		"flows": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO oauth_flows (state_hash, id, provider, purpose, nonce, verifier, binding, return_to, created_at, expires_at)
			SELECT randomblob(32), lower(hex(randomblob(16))), 'corp', 'sign_in', 'n', x'00', randomblob(32), '/', $2, $2 FROM g`,
		"users": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
			INSERT INTO users (id, username, password_hash, role, is_active, created_at, updated_at)
			SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21)),
			       $2 || i, '$hash', CASE WHEN i % 3 = 0 THEN 'admin' ELSE 'user' END, i % 4 <> 0,
			       strftime('%Y-%m-%dT%H:%M:%S.000000Z', $3, '+' || (i % 50) || ' seconds'),
			       strftime('%Y-%m-%dT%H:%M:%S.000000Z', $3, '+' || (i % 7) || ' minutes')
			FROM (SELECT i, hex(randomblob(16)) AS h FROM g)`,
	},
}

func bulk(t *testing.T, s *sqlstore.Store, what string, args ...any) {
	t.Helper()
	if _, err := s.DB().Exec(bulkSQL[s.Engine()][what], args...); err != nil {
		t.Fatalf("bulk %s: %v", what, err)
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// TestPurgeInBatches: 100,000 expired sessions and 20,000 stale failure
// windows beside live ones. The purge takes every expired row and no live
// one, and logins that run during it all succeed.
func TestPurgeInBatches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		u := insertUser(t, s, "alice")
		const expired, live = 100_000, 3_000
		bulk(t, s, "sessions", expired, u.ID, stamp(now.Add(-time.Minute)), stamp(now.Add(time.Hour)), "old")
		bulk(t, s, "sessions", live, u.ID, stamp(now.Add(time.Minute)), stamp(now.Add(time.Hour)), "live")
		bulk(t, s, "throttle", 20_000, stamp(now.Add(-time.Hour)), "ip:old")
		bulk(t, s, "throttle", 100, stamp(now), "ip:live")

		stop := make(chan struct{})
		var wg sync.WaitGroup
		logins := 0
		var loginErr error
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, id := session.NewSecret()
				if ok, err := s.InsertSessionIfCurrent(ctx, policy.Start(id, u.ID, now), u.PasswordHash); err != nil || !ok {
					loginErr = fmt.Errorf("login %d during the purge: %v, %w", logins, ok, err)
					return
				}
				logins++
				time.Sleep(2 * time.Millisecond) // a busy service: hundreds of logins a second
			}
		})
		n, err := s.DeleteExpiredSessions(ctx, now)
		if err != nil || n != expired {
			t.Errorf("DeleteExpiredSessions = %d, %v; want %d", n, err, expired)
		}
		f, err := s.DeleteStaleAttempts(ctx, now, 15*time.Minute)
		if err != nil || f != 20_000 {
			t.Errorf("DeleteStaleAttempts = %d, %v; want 20000", f, err)
		}
		close(stop)
		wg.Wait()
		if loginErr != nil {
			t.Fatal(loginErr)
		}
		if logins == 0 {
			t.Fatal("no login ran during the purge")
		}
		if left, _ := s.SessionCount(ctx, u.ID); left != live+logins {
			t.Errorf("%d sessions left, want %d live + %d logins", left, live, logins)
		}
		var windows int
		if err := s.DB().QueryRow(`SELECT count(*) FROM attempt_windows`).Scan(&windows); err != nil || windows != 100 {
			t.Errorf("%d failure windows left (%v), want 100", windows, err)
		}
	})
}

// TestUserCount: the total is kept by the database, for rows the store
// writes, rows written by direct SQL, and concurrent inserts alike.
func TestUserCount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		total := func() int {
			t.Helper()
			_, n, err := s.ListUsers(ctx, user.Page{Sort: user.SortUsername, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := total(); n != 0 {
			t.Fatalf("empty database: total %d", n)
		}
		bulk(t, s, "users", 500, "bulk", stamp(t0))
		if n := total(); n != 500 {
			t.Fatalf("after a bulk INSERT of 500: total %d", n)
		}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				if err := s.InsertUser(ctx, newUser(fmt.Sprintf("conc%02d", i), user.RoleUser)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// A failed insert (name taken) changes nothing.
		if err := s.InsertUser(ctx, newUser("CONC00", user.RoleUser)); err == nil {
			t.Fatal("a taken name was inserted")
		}
		if n := total(); n != 540 {
			t.Fatalf("after 40 concurrent inserts: total %d", n)
		}
		if _, err := s.DB().Exec(`DELETE FROM users WHERE username LIKE 'bulk1%'`); err != nil {
			t.Fatal(err)
		}
		var want int
		if err := s.DB().QueryRow(`SELECT count(*) FROM users`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if n := total(); n != want || want >= 540 {
			t.Fatalf("after a bulk DELETE: total %d, count(*) %d", n, want)
		}
	})
}

// TestKeysetPages walks every sort order in both directions by key and
// checks the pages against one offset listing: same rows, same order.
func TestKeysetPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		bulk(t, s, "users", 300, "U", stamp(t0))
		for _, f := range user.SortFields {
			for _, desc := range []bool{false, true} {
				all, _, err := s.ListUsers(ctx, user.Page{Sort: f, Descending: desc, Limit: 1000})
				if err != nil || len(all) != 300 {
					t.Fatalf("%s desc=%v: %d users, %v", f, desc, len(all), err)
				}
				var walked []user.User
				p := user.Page{Sort: f, Descending: desc, Limit: 7}
				for {
					page, _, err := s.ListUsers(ctx, p)
					if err != nil {
						t.Fatalf("%s desc=%v after %+v: %v", f, desc, p.After, err)
					}
					walked = append(walked, page...)
					if len(page) < p.Limit {
						break
					}
					k := user.KeyOf(page[len(page)-1], f)
					p.After = &k
				}
				if len(walked) != len(all) {
					t.Fatalf("%s desc=%v: walked %d users, want %d", f, desc, len(walked), len(all))
				}
				for i := range all {
					if walked[i].ID != all[i].ID {
						t.Fatalf("%s desc=%v: row %d is %s by key, %s by offset", f, desc, i, walked[i].Username, all[i].Username)
					}
				}
			}
		}
	})
}

// planSQL asks each engine for its plan.
var planSQL = map[string]string{"postgres": "EXPLAIN ", "sqlite": "EXPLAIN QUERY PLAN "}

// TestQueryPlans: with 20,000 users, sessions and attempt windows, every
// page query (first, by key, every sort), the session lookups (one and a
// batch), the attempt windows' and credential checks' queries and the
// purges read through an
// index on both engines: no sequential scan, no sort step.
func TestQueryPlans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		bulk(t, s, "users", 20_000, "P", stamp(t0))
		u := insertUser(t, s, "alice")
		bulk(t, s, "sessions", 100, u.ID, stamp(t0.Add(-time.Minute)), stamp(t0.Add(time.Hour)), "old")
		bulk(t, s, "sessions", 20_000, u.ID, stamp(t0.Add(time.Minute)), stamp(t0.Add(time.Hour)), "live")
		bulk(t, s, "throttle", 100, stamp(t0.Add(-time.Hour)), "ip:old")
		bulk(t, s, "throttle", 20_000, stamp(t0), "ip:live")
		bulk(t, s, "mail", 20_000, stamp(t0.Add(-time.Hour)), stamp(t0.Add(-time.Hour)))
		if _, err := s.DB().Exec(`UPDATE users SET email = username || '@example.com', email_verified_at = CASE WHEN role = 'admin' THEN created_at END`); err != nil {
			t.Fatal(err)
		}
		// A user with a few sessions, for the per-user queries.
		few := insertUser(t, s, "bobby")
		bulk(t, s, "sessions", 5, few.ID, stamp(t0.Add(time.Minute)), stamp(t0.Add(time.Hour)), "few")
		bulk(t, s, "tokens", 20_000, few.ID, stamp(t0.Add(time.Hour)))
		bulk(t, s, "pending", 20_000, few.ID, stamp(t0.Add(time.Minute)))
		bulk(t, s, "codes", 20_000, few.ID, stamp(t0))
		bulk(t, s, "totp", 1, stamp(t0))
		bulk(t, s, "passkeys", 20_000, few.ID, stamp(t0))
		bulk(t, s, "handles", 1)
		bulk(t, s, "ceremonies", 20_000, stamp(t0))
		bulk(t, s, "recovery", 20_000, stamp(t0.Add(time.Hour)))
		bulk(t, s, "identities", 20_000, few.ID, stamp(t0))
		bulk(t, s, "flows", 20_000, stamp(t0.Add(time.Minute)))
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		now := stamp(t0)
		sessions, failures := s.PurgeQueries()
		queries := map[string][]any{
			sessions: {now, 1000},
			failures: {stamp(t0.Add(-time.Minute)), now, 1000},
		}
		for _, q := range sqlstore.ListQueries() {
			queries[q.SQL] = q.Args
		}
		for _, q := range s.CredentialQueries(u.ID, "ip:live77", t0) {
			queries[q.SQL] = q.Args
		}
		for _, q := range s.MailQueries(t0) {
			queries[q.SQL] = q.Args
		}
		for _, q := range s.MFAQueries(u.ID, t0) {
			queries[q.SQL] = q.Args
		}
		for _, q := range s.AddressQueries(u.ID, t0) {
			queries[q.SQL] = q.Args
		}
		for _, q := range s.RecoveryRequestQueries(t0) {
			queries[q.SQL] = q.Args
		}
		for _, q := range s.IdentityQueries(u.ID, t0) {
			queries[q.SQL] = q.Args
		}
		ids := make([][]byte, 64)
		for i := range ids {
			_, ids[i] = session.NewSecret()
		}
		for _, q := range s.SessionLookupQueries(ids) {
			queries[q.SQL] = q.Args
		}
		for _, q := range sqlstore.UserSessionQueries(few.ID) {
			plan := explain(t, s, q.SQL, q.Args)
			if strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "SCAN sessions\n") || strings.HasSuffix(plan, "SCAN sessions") {
				t.Errorf("%s\nreads sessions without an index:\n%s", q.SQL, plan)
			}
		}
		for q, args := range queries {
			plan := explain(t, s, q, args)
			for _, line := range strings.Split(plan, "\n") {
				// user_count has one row: reading it whole is one row;
				// json_each is a batch's list of ids; a VALUES clause is a
				// statement's own rows (the attempt windows' two).
				// A SELECT of subqueries alone reads one constant row.
				if strings.Contains(line, "SCAN json_each VIRTUAL TABLE") || strings.HasSuffix(line, "-ROW VALUES CLAUSE") || line == "SCAN CONSTANT ROW" {
					continue
				}
				seq := strings.Contains(line, "Seq Scan") && !strings.Contains(line, "Seq Scan on user_count") ||
					strings.HasPrefix(strings.TrimLeft(line, " ->"), "Sort") || strings.Contains(line, "TEMP B-TREE") ||
					strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "USING") && line != "SCAN user_count"
				if seq {
					t.Errorf("%s\nreads without an index (%q):\n%s", q, line, plan)
				}
			}
		}
	})
}

func explain(t *testing.T, s *sqlstore.Store, q string, args []any) string {
	t.Helper()
	rows, err := s.DB().Query(planSQL[s.Engine()]+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n")
}
