package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// mailWorkloads is (m), on request (-only m): what addresses and recovery
// cost.
//
//   - signups with an address (its token and verification message queued
//     in the signup's transaction) against signups without, in
//     alternating slices: >= 0.95 x;
//   - recovery requests for an unknown address against each other kind
//     (unverified, an inactive account's, a verified address of an active
//     account: seeded users given addresses): the same p50 within 10 %,
//     the answer being the same (one stored request) and the work done
//     after it; then how many requests the worker still had to do when
//     the load stopped, and how long it took.
//
// Every request comes from another client address (through the trusted
// proxy the bench is), so the per-client limits do not apply.
func mailWorkloads(ctx context.Context, svc *service, rounds int, pair func(ref, w workload, rounds int) (result, result)) ([]result, error) {
	// Seeded users get addresses: verified but for every third (seed3,
	// seed6, ...); every seventh is inactive (seedSQL).
	if err := svc.exec(ctx, `UPDATE users SET email = username || '@bench.example',
		email_verified_at = CASE WHEN CAST(substr(username, 5) AS integer) % 3 = 0 THEN NULL ELSE created_at END
		WHERE username LIKE 'seed%'`); err != nil {
		return nil, fmt.Errorf("m: give the seeded users addresses: %w", err)
	}
	conc := 4 * runtime.NumCPU() // signups queue at the hash pool: p50 means something
	var results []result
	var n atomic.Int64
	signup := func(withAddress bool) op {
		cl := newClient(conc)
		return httpOp(cl, func(ctx context.Context) *http.Request {
			i := n.Add(1)
			body := fmt.Sprintf(`{"username":"m.user%d","password":%q}`, i, benchPassword)
			if withAddress {
				body = fmt.Sprintf(`{"username":"m.user%d","password":%q,"email":"m.user%d@bench.example"}`, i, benchPassword, i)
			}
			return jsonPost(ctx, svc.base+"/api/v1/auth/signup", body, i)
		})
	}
	ref, res := pair(workload{"m signup", conc, signup(false), svc}, workload{"m signup with an address", conc, signup(true), svc}, rounds)
	res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
	met := res.Ratio >= 0.95
	res.Target, res.Met = ">= 0.95 x", &met
	results = append(results, ref, res)

	// The four kinds of address, each against unknown addresses in
	// alternating slices: the answers must not tell them apart.
	kinds := map[string]func(k int64) bool{
		"unverified address":       func(k int64) bool { return k%3 == 0 && k%7 != 0 },
		"inactive account":         func(k int64) bool { return k%7 == 0 && k%3 != 0 },
		"verified, active address": func(k int64) bool { return k%7 != 0 && k%3 != 0 },
	}
	recovery := func(kind string) op {
		cl := newClient(conc)
		return httpOp(cl, func(ctx context.Context) *http.Request {
			i := n.Add(1)
			address := fmt.Sprintf("nobody%d@bench.example", i)
			if pick := kinds[kind]; pick != nil {
				address = svc.seedWhere(i, pick) + "@bench.example"
			}
			return jsonPost(ctx, svc.base+"/api/v1/auth/recovery", fmt.Sprintf(`{"email":%q}`, address), i)
		})
	}
	for _, kind := range []string{"unverified address", "inactive account", "verified, active address"} {
		ref, res := pair(workload{"m recovery, unknown address", conc, recovery("unknown"), svc}, workload{"m recovery, " + kind, conc, recovery(kind), svc}, rounds)
		res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
		p50 := float64(res.P50) / float64(ref.P50)
		met := p50 >= 0.9 && p50 <= 1.1
		res.Target, res.Met = "p50 within 10 %", &met
		res.Extra = map[string]any{"p50_ratio": p50}
		results = append(results, ref, res)
	}
	// Each 202 is a stored request that the service's worker does after
	// the answer: how many were still waiting when the load stopped, and
	// how long the worker took to do them.
	backlog, drained, err := svc.drainRecoveryRequests(ctx, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("m: the recovery requests' backlog: %w", err)
	}
	last := &results[len(results)-1]
	last.Extra["recovery_backlog"], last.Extra["recovery_drained_in"] = backlog, drained.Round(time.Millisecond).String()
	return results, nil
}

// drainRecoveryRequests counts the stored recovery requests and waits
// until the worker has done them all, at most limit.
func (s *service) drainRecoveryRequests(ctx context.Context, limit time.Duration) (int, time.Duration, error) {
	st, err := s.open(ctx, 1, true, true)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	start := time.Now()
	backlog := -1
	for {
		var n int
		if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM recovery_requests`).Scan(&n); err != nil {
			return 0, 0, err
		}
		if backlog < 0 {
			backlog = n
		}
		if n == 0 {
			return backlog, time.Since(start), nil
		}
		if time.Since(start) > limit {
			return backlog, 0, fmt.Errorf("%d of %d requests still waiting after %s", n, backlog, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedWhere is the i-th seeded account (the readers' excepted) whose
// number k satisfies pick.
func (s *service) seedWhere(i int64, pick func(k int64) bool) string {
	first, last := int64(s.readSeeds+1), int64(s.users-3)
	k := first + i%(last-first+1)
	for !pick(k) {
		if k++; k > last {
			k = first
		}
	}
	return fmt.Sprintf("seed%d", k)
}

// jsonPost is a POST of body from the i-th client address.
func jsonPost(ctx context.Context, url, body string, i int64) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", clientAddr(i))
	return req
}
