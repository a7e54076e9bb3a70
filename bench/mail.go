package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
)

// mailWorkloads is (m), on request (-only m): what addresses and recovery
// cost.
//
//   - signups with an address (its token and verification message queued
//     in the signup's transaction) against signups without, in
//     alternating slices: >= 0.95 x;
//   - recovery requests for an unknown address against a verified address
//     of an active account (seeded users given addresses): the same p50
//     within 10 %, the answer being the same and the work done after it.
//
// Every request comes from another client address (through the trusted
// proxy the bench is), so the per-client limits do not apply.
func mailWorkloads(ctx context.Context, svc *service, rounds int, pair func(ref, w workload, rounds int) (result, result)) ([]result, error) {
	if err := svc.exec(ctx, `UPDATE users SET email = username || '@bench.example', email_verified_at = created_at WHERE username LIKE 'seed%'`); err != nil {
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

	recovery := func(known bool) op {
		cl := newClient(conc)
		return httpOp(cl, func(ctx context.Context) *http.Request {
			i := n.Add(1)
			address := fmt.Sprintf("nobody%d@bench.example", i)
			if known {
				address = svc.loginSeed(i) + "@bench.example"
			}
			return jsonPost(ctx, svc.base+"/api/v1/auth/recovery", fmt.Sprintf(`{"email":%q}`, address), i)
		})
	}
	ref, res = pair(workload{"m recovery, unknown address", conc, recovery(false), svc}, workload{"m recovery, verified address", conc, recovery(true), svc}, rounds)
	res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
	p50 := float64(res.P50) / float64(ref.P50)
	met = p50 >= 0.9 && p50 <= 1.1
	res.Target, res.Met = "p50 within 10 %", &met
	res.Extra = map[string]any{"p50_ratio": p50}
	results = append(results, ref, res)
	return results, nil
}

// jsonPost is a POST of body from the i-th client address.
func jsonPost(ctx context.Context, url, body string, i int64) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", clientAddr(i))
	return req
}
