package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/shared/apikey"
)

// apiKeyWorkloads is (v), on request (-only v): GET /api/v1/auth/me with
// an API key (Authorization: Bearer) against the same request with a
// session cookie ((b)'s), in alternating slices, beside (a) and (gk), the
// key's SQL alone (the key and its user, a query per lookup): target at
// least 0.9 x the cookie's rate, and at least 0.85 x its floor
// 1/(1/a + 1/gk) as (b)'s. Each request presents the next of the -c
// readers' keys (one per reader, stored beforehand as the create route
// stores them), as (b) reads the next reader's session.
func apiKeyWorkloads(ctx context.Context, svc *service, cfg config.Config, conc, readers int, health, cookie op, alternate func(rounds int, ws ...workload) []result, rounds int) ([]result, error) {
	keys, ids, err := prepareAPIKeys(ctx, svc, cfg, readers)
	if err != nil {
		return nil, fmt.Errorf("v: %w", err)
	}
	store, err := svc.open(ctx, cfg.Database.MaxOpenConns, !cfg.Database.PreparedStatements, true)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	var next atomic.Uint64
	cl := newClient(conc)
	bearer := httpOp(cl, func(ctx context.Context) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, svc.base+"/api/v1/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+keys[next.Add(1)%uint64(len(keys))])
		return req
	})
	sql := func(ctx context.Context) (int, error) {
		_, _, err := store.APIKeyWithUser(ctx, ids[next.Add(1)%uint64(len(ids))])
		return 200, err
	}
	rs := alternate(rounds,
		workload{"v GET /api/v1/ (a)", conc, health, svc},
		workload{"gk SQL of (v): key+user, a query per lookup", conc, sql, nil},
		workload{"v GET /auth/me, cookie (b)", conc, cookie, svc},
		workload{"v GET /auth/me, API key", conc, bearer, svc},
	)
	a, gk, b, v := &rs[0], &rs[1], &rs[2], &rs[3]
	floor := result{Name: "floor 1/(1/a + 1/gk)", PerSecond: 1 / (1/a.PerSecond + 1/gk.PerSecond)}
	v.Extra = merge(v.Extra, map[string]any{"vs_floor_a_gk": v.PerSecond / floor.PerSecond})
	ratio(v, b, 0.9)
	return []result{*a, *gk, floor, *b, *v}, nil
}

// prepareAPIKeys stores a key for each of the first n readers (seed
// accounts; see service.readers) and returns the keys and their ids.
func prepareAPIKeys(ctx context.Context, svc *service, cfg config.Config, n int) ([]string, []uuid.UUID, error) {
	store, err := svc.open(ctx, 4, !cfg.Database.PreparedStatements, true)
	if err != nil {
		return nil, nil, err
	}
	defer store.Close()
	hash := mfakeys.New(cfg.MFA.EncryptionKey, cfg.MFA.PreviousEncryptionKeys).HashAPIKey
	keys, ids := make([]string, 0, n), make([]uuid.UUID, 0, n)
	for k := 1; len(keys) < n && k <= svc.readSeeds; k++ {
		if k%7 == 0 {
			continue // as readers skips them
		}
		u, err := store.UserByUsername(ctx, fmt.Sprintf("seed%d", k))
		if err != nil {
			return nil, nil, err
		}
		stored, key := apikey.Issue(hash, u.ID, "bench", apikey.ScopeRead, time.Now(), 24*time.Hour)
		if ok, err := store.InsertAPIKey(ctx, stored); err != nil || !ok {
			return nil, nil, fmt.Errorf("store a key of %s: %v, %w", u.Username, ok, err)
		}
		keys, ids = append(keys, key), append(ids, stored.ID)
	}
	if len(keys) == 0 {
		return nil, nil, fmt.Errorf("no reader to give a key")
	}
	return keys, ids, nil
}
