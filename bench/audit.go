package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

// auditWorkloads is (k), what the audit trail costs and how its reads
// scale:
//
//   - logins (success, wrong password, unknown user) against the same
//     logins of the baseline revision (before the trail), each on its own
//     database, in alternating slices: throughput and p50 with the trail
//     >= 0.95 x without;
//   - GET /api/v1/audit?limit=50 with events rows in the trail, one request
//     at a time: the first page, a cursor page 4,000,000 events deep (or 80 %
//     of a smaller trail) and a target= page: p50 <= 25 ms each.
func auditWorkloads(ctx context.Context, svc *service, o serviceOptions, baselineRev string, events int, d time.Duration, rounds int,
	pair func(ref, w workload, rounds int) (result, result)) ([]result, error) {
	var results []result
	conc := 4 * runtime.NumCPU() // a queue of logins at the hash pool, not a flood: p50 means something
	if baselineRev != "" {
		o.rev, o.name = baselineRev, "_base"
		fmt.Fprintf(os.Stderr, "bench: k building and starting the baseline %s on %s...\n", baselineRev, o.engine)
		base, err := startService(ctx, o)
		if err != nil {
			return nil, err
		}
		defer base.stop()
		var wrongP50 [2]time.Duration
		for i, kind := range []string{"success", "wrong password", "unknown user"} {
			ref, res := pair(
				workload{"k login " + kind + " (" + baselineRev + ")", conc, loginOp(base, kind, conc), base},
				workload{"k login " + kind + " (audited)", conc, loginOp(svc, kind, conc), svc}, rounds)
			res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
			p50 := float64(ref.P50) / float64(res.P50)
			met := res.Ratio >= 0.95 && p50 >= 0.95
			res.Target, res.Met = ">= 0.95 x req/s and p50", &met
			res.Extra = map[string]any{"p50_ratio": p50}
			results = append(results, ref, res)
			if i > 0 {
				wrongP50[i-1] = res.P50
			}
		}
		// The equal-time rule: a wrong password and an unknown user cost the same.
		eq := float64(wrongP50[1]) / float64(wrongP50[0])
		results[len(results)-1].Extra["p50_unknown_over_wrong"] = eq
		fmt.Fprintf(os.Stderr, "bench: k p50 of unknown user / wrong password (audited): %.2f\n", eq)
	}

	start := time.Now()
	if err := svc.seedEvents(ctx, events); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: k seeded %d audit events in %s\n", events, time.Since(start).Round(time.Second))
	super, err := svc.login("bench.super")
	if err != nil {
		return nil, err
	}
	depth := min(4_000_000, events*4/5)
	deep, err := svc.eventCursor(ctx, depth)
	if err != nil {
		return nil, err
	}
	client := newClient(1)
	for _, q := range []struct{ name, path string }{
		{"k 1 conn: /audit first page", "/api/v1/audit?limit=50"},
		{fmt.Sprintf("k 1 conn: /audit cursor %d deep", depth), "/api/v1/audit?limit=50&cursor=" + url.QueryEscape(deep)},
		{"k 1 conn: /audit?target=seed123", "/api/v1/audit?limit=50&target=seed123"},
		{"k 1 conn: /audit?type=user.granted_admin", "/api/v1/audit?limit=50&type=user.granted_admin"},
	} {
		fmt.Fprintf(os.Stderr, "bench: %s, one request at a time (%s)...\n", q.name, d)
		r := run(ctx, q.name, 1, d, httpOp(client, func(ctx context.Context) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, svc.base+q.path, nil)
			req.AddCookie(super)
			return req
		}))
		met := r.P50 <= 25*time.Millisecond && r.Statuses[200] == r.Requests
		r.Target, r.Met = "p50 <= 25ms", &met
		results = append(results, r)
	}
	return results, nil
}

// loginOp returns logins of one kind against s, each as another seeded
// user (active ones: every seventh is inactive) from another client
// address, so that neither the per-user session limit nor the throttles
// change the work: "success", "wrong password" or "unknown user".
func loginOp(s *service, kind string, conc int) op { return loginOpSkipping(s, kind, conc, nil) }

// loginOpSkipping is loginOp over the seeded accounts but those in skip.
func loginOpSkipping(s *service, kind string, conc int, skip map[string]bool) op {
	cl := newClient(conc)
	var n atomic.Int64
	return httpOp(cl, func(ctx context.Context) *http.Request {
		i := n.Add(1)
		for skip[s.loginSeed(i)] {
			i = n.Add(1)
		}
		name, pw := s.loginSeed(i), benchPassword
		switch kind {
		case "wrong password":
			pw = "not the password"
		case "unknown user":
			name = fmt.Sprintf("ghost%d", i)
		}
		body := fmt.Sprintf(`{"username":%q,"password":%q}`, name, pw)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/v1/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", clientAddr(i))
		return req
	})
}

// loginSeed is the i-th login's account: the seeded users in turn, but
// for the inactive multiples of 7 and for the readers' (a login adds a
// session, and past auth.max_sessions_per_user it ends the oldest, which
// would end the sessions (b), (i) and (j) read).
func (s *service) loginSeed(i int64) string {
	first, last := int64(s.readSeeds+1), int64(s.users-3)
	k := first + i%(last-first+1)
	if k%7 == 0 {
		if k < last {
			k++
		} else {
			k--
		}
	}
	return fmt.Sprintf("seed%d", k)
}

// clientAddr is the i-th login's client address, one of 2^24.
func clientAddr(i int64) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }

// eventsSQL adds the events $1 < i <= $2: one every 5 seconds back from
// now (a 5,000,000-event trail spans 289 days, inside the default
// retention), every type, each seeded user the target of some, bench.super
// the actor of every fourth.
var eventsSQL = map[string]string{
	"postgres": `INSERT INTO audit_events (id, occurred_at, type, actor_id, target_id, ip, user_agent, request_id, details)
		SELECT gen_random_uuid(), now() - g * interval '5 seconds',
		       (ARRAY['user.signed_up','user.created','login.succeeded','login.failed','user.password_changed','user.password_set',
		              'user.inactivated','user.reactivated','user.granted_admin','user.revoked_admin','session.ended'])[g % 11 + 1],
		       CASE WHEN g % 4 = 0 THEN s.id END, u.id, '192.0.2.' || (g % 250), 'bench/1.0', 'seed' || g, '{}'
		FROM generate_series($1 + 1, $2) g
		JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM users) u ON u.rn = g % $3
		CROSS JOIN (SELECT id FROM users WHERE username = 'bench.super') s`,
	"sqlite": `WITH RECURSIVE g(i) AS (SELECT $1 + 1 UNION ALL SELECT i + 1 FROM g WHERE i < $2)
		INSERT INTO audit_events (id, occurred_at, type, actor_id, target_id, ip, user_agent, request_id, details)
		SELECT ` + uuidSQLite + `, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-' || (i * 5) || ' seconds'),
		       json_extract('["user.signed_up","user.created","login.succeeded","login.failed","user.password_changed","user.password_set",` +
		`"user.inactivated","user.reactivated","user.granted_admin","user.revoked_admin","session.ended"]', '$[' || (i % 11) || ']'),
		       CASE WHEN i % 4 = 0 THEN (SELECT id FROM users WHERE username = 'bench.super') END,
		       (SELECT id FROM users WHERE rowid = i % $3 + 1), '192.0.2.' || (i % 250), 'bench/1.0', 'seed' || i, '{}'
		FROM (SELECT i, hex(randomblob(16)) AS h FROM g)`,
}

// seedEvents adds n audit events in batches of 500,000, with progress.
func (s *service) seedEvents(ctx context.Context, n int) error {
	st, err := s.open(ctx, 1, true, true)
	if err != nil {
		return err
	}
	defer st.Close()
	const batch = 500_000
	for done := 0; done < n; done += batch {
		if _, err := st.DB().ExecContext(ctx, eventsSQL[s.engine], done, min(done+batch, n), s.users); err != nil {
			return fmt.Errorf("seed audit events: %w", err)
		}
		fmt.Fprintf(os.Stderr, "bench: k %d audit events...\n", min(done+batch, n))
	}
	_, err = st.DB().ExecContext(ctx, "ANALYZE")
	return err
}

// eventCursor returns the cursor that continues the whole trail after its
// depth-th event, as a client walking that far would hold it.
func (s *service) eventCursor(ctx context.Context, depth int) (string, error) {
	st, err := s.open(ctx, 1, true, true)
	if err != nil {
		return "", err
	}
	defer st.Close()
	var at, id string
	q := `SELECT occurred_at, id FROM audit_events ORDER BY occurred_at DESC, id DESC LIMIT 1 OFFSET $1`
	if s.engine == "postgres" {
		q = `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), id::text FROM audit_events ORDER BY occurred_at DESC, id DESC LIMIT 1 OFFSET $1`
	}
	if err := st.DB().QueryRowContext(ctx, q, depth-1).Scan(&at, &id); err != nil {
		return "", fmt.Errorf("event %d deep: %w", depth, err)
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return "", err
	}
	u, err := uuid.FromString(id)
	if err != nil {
		return "", err
	}
	return audit.Query{}.Cursor(audit.Event{ID: u, OccurredAt: t}), nil
}
