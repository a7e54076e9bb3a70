// Command bench measures cleanslice under load against references measured
// in the same run, on this machine: `task bench:load` or `go run ./bench`
// from the repository root, with PostgreSQL running.
//
// It builds the service, starts it on a fresh database seeded
// with 10,000 users (-users; one live session each), and runs each workload for a fixed time at a fixed
// concurrency after a warm-up:
//
//	(a) GET /api/v1/                       vs (f) a bare net/http handler
//	(b) GET /api/v1/auth/me                vs (g1) the same SQL, direct, a
//	    query per lookup; (g1b) the store's lookups, batched under load
//	    (PostgreSQL); and (g3) a bare net/http handler running the store's
//	    lookup; the floor is 1/(1/a + 1/g1). Each request reads
//	    the next of -c users' sessions, as real traffic reads many.
//	(c) GET /api/v1/users?limit=20 (admin) vs (g) the same SQL, direct;
//	    and at ~90 % depth by cursor and by offset, plus the first and the
//	    deep cursor page one request at a time (sequential latency)
//	(d) POST /api/v1/auth/login            vs (h) verifications/s on all cores;
//	    and, reported, vs 1/(1/h + 1/g4) with (g4) a login's SQL alone
//	    (the login interactor on the same store, its hash skipped; run
//	    last: its burst of writes leaves PostgreSQL work behind)
//	(e) a login flood at 4x the hash capacity while (c) runs at 16 connections
//	(i) the (g) queries through pgx's database/sql driver vs lib/pq
//	(j) the (b) query prepared once per connection vs unprepared (the
//	    database.prepared_statements = false mode, for PgBouncer)
//	(m) on request (-only m): signups with an address vs without, and
//	    recovery requests for an unknown vs a verified address (p50)
//	(v) on request (-only v): GET /api/v1/auth/me with an API key vs the
//	    same with a session cookie ((b)), target >= 0.9 x; and vs its floor
//	    1/(1/a + 1/gk), (gk) the key's SQL alone
//	(w) on request (-only w): logins with two subscribed webhook
//	    endpoints vs none
//	(k) on request (-only k): logins (success, wrong password, unknown
//	    user) vs the same logins of -baseline REV, and the audit trail's
//	    pages with -events events, one request at a time
//	(o) on request (-only o): a sign-in with an identity provider (start,
//	    an OpenID provider in the bench's process, callback) vs (d)'s
//	    password login: the service's CPU per sign-in
//
// (f) and (g3) are served by bench/bare, in a process of its own as the
// service is. It prints one table (or JSON with -json FILE). -engine
// sqlite runs the service and the (g) references on SQLite instead ((i)
// and (j) are PostgreSQL's).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/user"
)

// workload is one measured thing; service marks the ones served by the
// service, whose peak RSS and CPU are recorded.
type workload struct {
	name string
	conc int
	o    op
	svc  *service // the service that serves it; nil for a reference without one
}

// served adds up what a workload's server spent over its slices: the
// service's (or bench/bare's) process, or, for a reference the bench runs
// itself ((g1), (g2), (h)), the bench's own (its load generator is idle
// then), so that every row has a CPU/req.
type served struct {
	cpu  time.Duration
	peak float64
}

// run measures one slice of w, and its server's CPU and peak RSS.
func (m *served) run(ctx context.Context, w workload, d time.Duration) result {
	cpuTime := ownCPUTime
	if w.svc != nil {
		cpuTime = w.svc.cpuTime
		w.svc.resetPeakRSS()
	}
	before := cpuTime()
	r := run(ctx, w.name, w.conc, d, w.o)
	m.cpu += cpuTime() - before
	if w.svc != nil {
		m.peak = max(m.peak, w.svc.peakRSSMiB())
	}
	return r
}

func (m *served) apply(r *result) {
	n := answered(r.Statuses)
	if n == 0 {
		return
	}
	r.PeakRSSMiB, r.CPUPerRequest = m.peak, m.cpu/time.Duration(n)
}

// runAlone makes sure no other bench runs on this machine: two at once
// would measure each other's load, and on PostgreSQL the second's fresh
// database (the same name) would end the first's connections mid-run. The
// lock is a file's, so the kernel drops it when a run dies, however it
// dies; unlock releases it.
func runAlone() (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), "cleanslice-bench.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another bench is running on this machine (%s is locked): wait for it to end", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// ownCPUTime is the bench process's user+system CPU so far.
func ownCPUTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	concurrency := flag.Int("c", 64, "connections per workload")
	duration := flag.Duration("d", 10*time.Second, "time per workload")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up per workload")
	users := flag.Int("users", 10000, "users in the database")
	rounds := flag.Int("rounds", 5, "alternating slices per workload and reference")
	only := flag.String("only", "", "comma-separated workloads to run (a,b,c,d,e,f,g,h,i,j,k,m,o,t,v,w); empty: all but k, m, o, t, v and w")
	engine := flag.String("engine", "postgres", "the service's database: postgres or sqlite")
	baseline := flag.String("baseline", "", "(k): the git revision to compare logins with, e.g. the commit before the audit trail")
	events := flag.Int("events", 5_000_000, "(k): audit events in the database")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	serviceLog := flag.String("service-log", "", "write the service's own output (its logs) to this file")
	pgURL := flag.String("pg", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server (an admin connection)")
	var env multiFlag
	flag.Var(&env, "env", "extra KEY=VALUE for the service (repeatable), e.g. -env CLEANSLICE_DATABASE_MAX_OPEN_CONNS=40")
	flag.Parse()
	want := func(w string) bool {
		if *only == "" {
			return w != "k" && w != "m" && w != "t" && w != "v" && w != "o" && w != "w" // k seeds millions of rows and builds a second binary, m, o, t, v and w add rows: on request
		}
		return strings.Contains(","+*only+",", ","+w+",")
	}
	if *engine != "postgres" && *engine != "sqlite" {
		return fmt.Errorf("-engine must be postgres or sqlite")
	}
	if *engine == "sqlite" && (want("i") || want("j")) && *only != "" {
		return fmt.Errorf("(i) and (j) compare PostgreSQL drivers and modes: not with -engine sqlite")
	}
	if want("w") {
		// The endpoints' receiver listens on loopback.
		env = append(env, "CLEANSLICE_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true")
	}
	var provider *mockoidc.MockOIDC
	if want("o") {
		p, setting, err := startOAuthProvider()
		if err != nil {
			return err
		}
		defer func() { _ = p.Shutdown() }()
		provider, env = p, append(env, setting)
	}
	if want("k") || want("m") || want("t") || want("o") {
		// Failed logins (and signups, recovery requests) from many client
		// addresses, as a proxy reports them, so that the per-IP limits do
		// not turn them into 429s.
		env = append(env, "CLEANSLICE_HTTP_TRUSTED_PROXIES=127.0.0.1")
	}

	cfg, err := config.Load("config.toml", func(k string) string {
		for _, kv := range env {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v
			}
		}
		return os.Getenv(k)
	})
	if err != nil {
		return err
	}
	unlock, err := runAlone()
	if err != nil {
		return err
	}
	defer unlock()
	ctx := context.Background()
	fmt.Fprintf(os.Stderr, "bench: building and starting the service on %s with %d users...\n", *engine, *users)
	svcOpts := serviceOptions{engine: *engine, adminURL: *pgURL, users: *users, env: env}
	if *serviceLog != "" {
		f, err := os.Create(*serviceLog)
		if err != nil {
			return err
		}
		defer f.Close()
		svcOpts.log = f
	}
	svc, err := startService(ctx, svcOpts)
	if err != nil {
		return err
	}
	defer svc.stop()
	adminCookie, err := svc.login("bench.admin")
	if err != nil {
		return err
	}
	// The readers of (b) and its references: a session of each of
	// -c users, the next one for each request, so that concurrent reads
	// look up different sessions as real traffic does (one session for
	// all would let a batch of lookups find one row for many).
	readers, ids, err := svc.readers(*concurrency)
	if err != nil {
		return err
	}
	if svc.readSeeds+7 > *users-3 {
		return fmt.Errorf("-users %d leaves too few accounts to log in beside the %d readers' (-c): use more users", *users, len(readers))
	}
	var nextReader atomic.Uint64
	nextID := func() []byte { return ids[nextReader.Add(1)%uint64(len(ids))] }

	client := newClient(*concurrency)
	get := func(path string, c *http.Cookie) op {
		return httpOp(client, func(ctx context.Context) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, svc.base+path, nil)
			if c != nil {
				req.AddCookie(c)
			}
			return req
		})
	}
	me := httpOp(client, func(ctx context.Context) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, svc.base+"/api/v1/auth/me", nil)
		req.AddCookie(readers[nextReader.Add(1)%uint64(len(readers))])
		return req
	})
	// Logins go to the seeded users in turn, each from another client
	// address: logging one account in again and again would end its
	// oldest sessions (auth.max_sessions_per_user), the readers' among
	// them.
	login := func(conc int) op { return loginOp(svc, "success", conc) }
	// alternate measures workloads (references first) in alternating
	// slices of the run, so that drift on a noisy machine hits all alike.
	alternate := func(rounds int, ws ...workload) []result {
		names := make([]string, len(ws))
		for i, w := range ws {
			names[i] = w.name
		}
		fmt.Fprintf(os.Stderr, "bench: %s (%d connections, %s each, in %d alternating slices)...\n", strings.Join(names, " vs "), ws[len(ws)-1].conc, *duration, rounds)
		for _, w := range ws {
			run(ctx, w.name, w.conc, *warmup/time.Duration(len(ws)), w.o)
		}
		rs := make([]result, len(ws))
		ms := make([]served, len(ws))
		slice := *duration / time.Duration(rounds)
		for range rounds {
			for i, w := range ws {
				rs[i].merge(ms[i].run(ctx, w, slice))
			}
		}
		for i := range rs {
			ms[i].apply(&rs[i])
		}
		return rs
	}
	pair := func(ref, w workload, rounds int) (result, result) {
		rs := alternate(rounds, ref, w)
		return rs[0], rs[1]
	}

	var results []result

	refs := map[string]workload{}
	// The floor of (a) and of (b) without the service's code: bench/bare,
	// a process of its own as the service is (in the bench's process the
	// server would share the load generator's runtime and skip the
	// wake-ups between processes that the service pays).
	var bare *service
	if want("a") || want("f") || want("b") || want("g") {
		if bare, err = startBare(ctx, svc.dbURL, ids, cfg.Database.MaxOpenConns); err != nil {
			return err
		}
		defer bare.stop()
		refs["a"] = workload{"f bare net/http", *concurrency, httpOp(client, func(ctx context.Context) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, bare.base+"/", nil)
			return req
		}), bare}
		refs["g3"] = workload{"g3 bare net/http + SQL of (b)", *concurrency, httpOp(client, func(ctx context.Context) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, bare.base+"/me", nil)
			return req
		}), bare}
	}
	if want("b") || want("c") || want("g") {
		store, err := svc.open(ctx, cfg.Database.MaxOpenConns, !cfg.Database.PreparedStatements, false)
		if err != nil {
			return err
		}
		defer store.Close()
		lookup := func(s *sqlstore.Store) op {
			return func(ctx context.Context) (int, error) { _, _, err := s.SessionWithUser(ctx, nextID()); return 200, err }
		}
		if _, batched := store.SessionQueries(); batched {
			// The (g1) is a query per request; the store batches
			// concurrent lookups, so (g1) runs on a store that does not and
			// (g1b) shows the store's own way.
			one, err := svc.open(ctx, cfg.Database.MaxOpenConns, !cfg.Database.PreparedStatements, true)
			if err != nil {
				return err
			}
			defer one.Close()
			refs["b"] = workload{"g1 SQL of (b), a query per lookup", *concurrency, lookup(one), nil}
			refs["g1b"] = workload{"g1b SQL of (b), lookups batched", *concurrency, lookup(store), nil}
		} else {
			refs["b"] = workload{"g1 SQL of (b): session+user", *concurrency, lookup(store), nil}
		}
		refs["c"] = workload{"g2 SQL of (c): page+count", *concurrency, func(ctx context.Context) (int, error) {
			_, _, err := store.ListUsers(ctx, user.Page{Sort: user.SortUpdatedAt, Descending: true, Limit: 21})
			return 200, err
		}, nil}
	}
	if want("d") || want("h") || want("e") {
		h := password.New(password.Params{MemoryKiB: cfg.Password.Argon2MemoryKiB, Iterations: cfg.Password.Argon2Iterations, Parallelism: cfg.Password.Argon2Parallelism},
			password.Peppers{Current: cfg.Password.Pepper}, runtime.NumCPU(), time.Minute, nil, nil, nil)
		hash, err := h.Hash(ctx, benchPassword)
		if err != nil {
			return err
		}
		refs["d"] = workload{"h verify on all cores", runtime.NumCPU(), func(ctx context.Context) (int, error) {
			_, err := h.Verify(ctx, hash, benchPassword)
			return 200, err
		}, nil}
	}
	type entry struct {
		key   string
		w     workload
		floor float64 // 0: reported, no target
	}
	workloads := []entry{
		{"a", workload{"a GET /api/v1/", *concurrency, get("/api/v1/", nil), svc}, 0.85},
		{"b", workload{"b GET /auth/me", *concurrency, me, svc}, 0.6},
		{"c", workload{"c GET /users?limit=20", *concurrency, get("/api/v1/users?limit=20", adminCookie), svc}, 0.6},
		{"d", workload{"d POST /auth/login", *concurrency, login(*concurrency), svc}, 0.9},
	}
	var hashRef, health, sqlOfMe *result
	loginRow := -1 // (d)'s index in results
	var sequential []result
	if want("c") {
		// The same list ~90 % deep: the page a cursor walk reaches there,
		// and the same depth by offset (reported, not targeted).
		depth := *users * 9 / 10
		deep, err := svc.nextCursor(adminCookie, fmt.Sprintf("/api/v1/users?limit=20&offset=%d", depth-20))
		if err != nil {
			return err
		}
		workloads = append(workloads,
			entry{"c", workload{"c GET /users cursor 90% deep", *concurrency, get("/api/v1/users?limit=20&cursor="+deep, adminCookie), svc}, 0.6},
			// Each request walks ~90 % of the table: 4 connections, or none
			// would finish inside a slice.
			entry{"c", workload{"c GET /users offset 90% deep", 4, get(fmt.Sprintf("/api/v1/users?limit=20&offset=%d", depth), adminCookie), svc}, 0},
		)
		for _, q := range []struct{ name, path string }{
			{"c 1 conn: first page", "/api/v1/users?limit=20"},
			{"c 1 conn: cursor 90% deep", "/api/v1/users?limit=20&cursor=" + deep},
		} {
			fmt.Fprintf(os.Stderr, "bench: %s, one request at a time (%s)...\n", q.name, *duration)
			r := run(ctx, q.name, 1, *duration, get(q.path, adminCookie))
			met := r.P50 <= 25*time.Millisecond
			r.Target, r.Met = "p50 <= 25ms", &met
			sequential = append(sequential, r)
		}
	}
	for _, wl := range workloads {
		if !want(wl.key) && !want(map[string]string{"a": "f", "b": "g", "c": "g", "d": "h"}[wl.key]) {
			continue
		}
		// Logins take up to a second each at 64 connections (queued for a
		// hash): (d) and (h) alternate in slices of at least 4 s, so that
		// the few logins a slice's end cuts off (their hashes, ~20 ms each,
		// run on into the next slice) stay ~1 % of it.
		r := *rounds
		if wl.key == "d" {
			r = max(1, min(r, int(*duration/(4*time.Second))))
		}
		ws := []workload{refs[wl.key]}
		_, withG3 := refs["g3"]
		if wl.key == "b" {
			if g1b, ok := refs["g1b"]; ok {
				ws = append(ws, g1b)
			}
			if withG3 {
				ws = append(ws, refs["g3"])
			}
		}
		ws = append(ws, wl.w)
		rs := alternate(r, ws...)
		res := &rs[len(rs)-1]
		if wl.key == "b" && withG3 {
			g3 := &rs[len(rs)-2]
			res.Extra = merge(res.Extra, map[string]any{"vs_g3": res.PerSecond / g3.PerSecond,
				"cpu_over_g3_us": float64(res.CPUPerRequest-g3.CPUPerRequest) / float64(time.Microsecond)})
		}
		if wl.floor > 0 {
			ratio(res, &rs[0], wl.floor)
		}
		results = append(results, rs...)
		switch wl.key {
		case "d":
			hashRef = &results[len(results)-2]
			d := &results[len(results)-1]
			if h := hashRef.CPUPerRequest; h > 0 && d.CPUPerRequest > 0 {
				d.Extra = merge(d.Extra, map[string]any{"cpu_over_h": float64(d.CPUPerRequest)/float64(h) - 1})
			}
			loginRow = len(results) - 1
		case "a":
			health = &results[len(results)-1]
		case "b":
			sqlOfMe = &results[len(results)-len(rs)]
			if health != nil {
				// The floor of (b): nothing but (a)'s HTTP work and (g1)'s
				// query per request, on the same cores.
				floor := result{Name: "floor 1/(1/a + 1/g1)", PerSecond: 1 / (1/health.PerSecond + 1/sqlOfMe.PerSecond)}
				me := results[len(results)-1]
				ratio(&me, &floor, 0.85)
				results = append(results[:len(results)-1], floor, me)
			}
		}
	}
	results = append(results, sequential...)
	if bare != nil {
		bare.stop() // its pool closed: (i) and (j) need the connections
	}
	if *engine == "sqlite" {
		// (i) and (j) are PostgreSQL's.
	} else if want("j") {
		// What database.prepared_statements = false (for PgBouncer in
		// transaction mode) costs the (b) query: prepared once per
		// connection vs an unnamed statement per call, same driver, same pool.
		p, err := postgres.Open(ctx, svc.dbURL, postgres.Options{MaxOpenConns: cfg.Database.MaxOpenConns, Unbatched: true})
		if err != nil {
			return err
		}
		u, err := postgres.Open(ctx, svc.dbURL, postgres.Options{MaxOpenConns: cfg.Database.MaxOpenConns, NoPrepare: true, Unbatched: true})
		if err != nil {
			p.Close()
			return err
		}
		me := func(s *sqlstore.Store) op {
			return func(ctx context.Context) (int, error) { _, _, err := s.SessionWithUser(ctx, nextID()); return 200, err }
		}
		ref, res := pair(workload{"j prepared: SQL of (b)", *concurrency, me(p), nil}, workload{"j unprepared: SQL of (b)", *concurrency, me(u), nil}, *rounds)
		res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
		results = append(results, ref, res)
		// Closed now: (i)'s pools must fit in max_connections beside the service's.
		p.Close()
		u.Close()
	}
	if want("i") && *engine == "postgres" {
		// What the driver costs: the (g) queries through pgx's database/sql
		// driver under the same sqlx code, alternated with lib/pq.
		// Both a query per lookup: the drivers, not the batching.
		pq, err := postgres.Open(ctx, svc.dbURL, postgres.Options{MaxOpenConns: cfg.Database.MaxOpenConns, Unbatched: true})
		if err != nil {
			return err
		}
		pgxDB, err := sql.Open("pgx", svc.dbURL)
		if err != nil {
			pq.Close()
			return err
		}
		pgxDB.SetMaxOpenConns(cfg.Database.MaxOpenConns)
		pgxDB.SetMaxIdleConns(cfg.Database.MaxOpenConns)
		d := postgres.Dialect
		d.DriverName = "pgx"
		viaPgx := sqlstore.New(pgxDB, d, sqlstore.Options{Prepare: true, Unbatched: true})
		for _, q := range []struct {
			name string
			run  func(s *sqlstore.Store) op
		}{
			{"(b) session+user", func(s *sqlstore.Store) op {
				return func(ctx context.Context) (int, error) { _, _, err := s.SessionWithUser(ctx, nextID()); return 200, err }
			}},
			{"(c) page+count", func(s *sqlstore.Store) op {
				return func(ctx context.Context) (int, error) {
					_, _, err := s.ListUsers(ctx, user.Page{Sort: user.SortUpdatedAt, Descending: true, Limit: 20})
					return 200, err
				}
			}},
		} {
			ref, res := pair(workload{"i lib/pq " + q.name, *concurrency, q.run(pq), nil}, workload{"i pgx " + q.name, *concurrency, q.run(viaPgx), nil}, *rounds)
			res.Reference, res.Ratio = ref.Name, res.PerSecond/ref.PerSecond
			results = append(results, ref, res)
		}
		// Closed now, as (j)'s: (g4)'s pool must fit in max_connections too.
		pq.Close()
		viaPgx.Close()
	}
	if want("k") {
		k, err := auditWorkloads(ctx, svc, svcOpts, *baseline, *events, *duration, *rounds, pair)
		if err != nil {
			return err
		}
		results = append(results, k...)
	}
	if want("m") {
		m, err := mailWorkloads(ctx, svc, *rounds, pair)
		if err != nil {
			return err
		}
		results = append(results, m...)
	}
	if want("w") {
		w, err := webhookWorkloads(ctx, svc, cfg, *rounds, *duration, *warmup)
		if err != nil {
			return err
		}
		results = append(results, w...)
	}
	if want("t") {
		t, err := mfaWorkloads(ctx, svc, cfg, *rounds, login(4*runtime.NumCPU()), pair)
		if err != nil {
			return err
		}
		results = append(results, t...)
	}
	if want("o") {
		o, err := oauthWorkloads(ctx, svc, provider, *rounds, login(4*runtime.NumCPU()), pair)
		if err != nil {
			return err
		}
		results = append(results, o...)
	}
	if want("v") {
		v, err := apiKeyWorkloads(ctx, svc, cfg, *concurrency, len(readers), get("/api/v1/", nil), me, alternate, *rounds)
		if err != nil {
			return err
		}
		results = append(results, v...)
	}
	if want("e") {
		results = append(results, flood(ctx, svc, get("/api/v1/users?limit=20", adminCookie), login, cfg.Password.MaxConcurrency, hashRef, *warmup, *duration))
	}
	if loginRow >= 0 {
		// (g4) runs last, alone: its burst of writes leaves PostgreSQL
		// work behind (WAL, autovacuum) that would slow whatever ran next,
		// (h) among them. What a login must cost here is a verification
		// and its SQL on the same cores: reported; (d)'s target is (h).
		store, err := svc.open(ctx, cfg.Database.MaxOpenConns, !cfg.Database.PreparedStatements, false)
		if err != nil {
			return err
		}
		g4 := workload{"g4 SQL of (d): a login but its hash", *concurrency, loginSQLOp(svc, store, cfg), nil}
		fmt.Fprintf(os.Stderr, "bench: %s (%d connections, %s)...\n", g4.name, g4.conc, *duration)
		run(ctx, g4.name, g4.conc, *warmup, g4.o)
		var m served
		g := m.run(ctx, g4, *duration)
		m.apply(&g)
		store.Close()
		d := &results[loginRow]
		floor := result{Name: "floor 1/(1/h + 1/g4)", PerSecond: 1 / (1/hashRef.PerSecond + 1/g.PerSecond)}
		d.Extra = merge(d.Extra, map[string]any{"vs_floor_h_g4": d.PerSecond / floor.PerSecond})
		results = slices.Insert(results, loginRow, g, floor)
	}
	for i := range results {
		if results[i].PeakRSSMiB > 0 {
			ok := results[i].PeakRSSMiB <= 150
			results[i].Extra = merge(results[i].Extra, map[string]any{"rss_target_met": ok})
		}
	}

	printTable(os.Stdout, results, *engine, *concurrency, *duration)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{
			"machine":     machine(),
			"concurrency": *concurrency,
			"duration":    duration.String(),
			"users":       *users,
			"engine":      *engine,
			"results":     results,
		}, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// flood sends logins at four times the hash capacity (open loop: arrivals
// do not wait for answers) while (c) runs at 16 connections, and reports
// the reads' latency and the logins' statuses.
func flood(ctx context.Context, svc *service, read op, login func(conc int) op, slots int, h *result, warmup, d time.Duration) result {
	rate := 4.0 * float64(slots) * 50 // ~50 verifications/s per slot at the defaults when (h) is absent
	if h != nil && h.PerSecond > 0 {
		rate = 4 * h.PerSecond
	}
	fmt.Fprintf(os.Stderr, "bench: e login flood at %.0f/s with (c) at 16 connections (%s)...\n", rate, d)
	logins := login(1024)
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		lats     []time.Duration
		inflight atomic.Int64
		dropped  atomic.Int64
	)
	floodCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		interval := time.Duration(float64(time.Second) / rate)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-floodCtx.Done():
				return
			case <-t.C:
			}
			if inflight.Load() >= 1024 {
				dropped.Add(1)
				continue
			}
			inflight.Add(1)
			wg.Go(func() {
				defer inflight.Add(-1)
				start := time.Now()
				status, err := logins(context.Background())
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					statuses[0]++
					return
				}
				statuses[status]++
				lats = append(lats, time.Since(start))
			})
		}
	})
	time.Sleep(warmup)
	svc.resetPeakRSS()
	r := run(ctx, "e reads during a login flood", 16, d, read)
	r.PeakRSSMiB = svc.peakRSSMiB()
	stop()
	wg.Wait()
	r.Extra = map[string]any{"login_rate_per_s": rate, "login_statuses": statuses, "logins_not_sent": dropped.Load()}
	bad := 0
	for s, n := range statuses {
		if s != 200 && s != 429 && s != 503 {
			bad += n
		}
	}
	met := r.P99 <= 50*time.Millisecond && bad == 0 && dropped.Load() == 0
	r.Target = "reads p99 <= 50ms; logins only 200/429/503"
	r.Met = &met
	slices.Sort(lats)
	r.Extra["login_p50"] = percentile(lats, 0.5).String()
	r.Extra["login_p99"] = percentile(lats, 0.99).String()
	return r
}

func ratio(r, ref *result, floor float64) {
	if r == nil || ref == nil || ref.PerSecond == 0 {
		return
	}
	r.Reference = ref.Name
	r.Ratio = r.PerSecond / ref.PerSecond
	r.Target = fmt.Sprintf(">= %.2f x", floor)
	met := r.Ratio >= floor
	r.Met = &met
}

func printTable(w *os.File, results []result, engineName string, conc int, d time.Duration) {
	fmt.Fprintf(w, "\ncleanslice bench: %s; %s; %d connections, %s per workload\n\n", machine(), engineName, conc, d)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "workload\treq/s\tp50\tp99\tstatuses\tratio\ttarget\tmet\tpeak RSS\tCPU/req\t")
	for _, r := range results {
		var st []string
		for _, s := range statusList(r.Statuses) {
			st = append(st, fmt.Sprintf("%d:%d", s, r.Statuses[s]))
		}
		if r.Errors > 0 {
			st = append(st, fmt.Sprintf("err:%d", r.Errors))
		}
		ratioS, met, rss := "", "", ""
		if r.Ratio > 0 {
			ratioS = fmt.Sprintf("%.2f", r.Ratio)
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		if r.PeakRSSMiB > 0 {
			rss = fmt.Sprintf("%.0f MiB", r.PeakRSSMiB)
			if r.PeakRSSMiB > 150 {
				rss += " (over 150)"
			}
		}
		cpu := ""
		if r.CPUPerRequest > 0 {
			cpu = fmt.Sprintf("%.0f us", float64(r.CPUPerRequest)/float64(time.Microsecond))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.PerSecond, round(r.P50), round(r.P99), strings.Join(st, " "), ratioS, r.Target, met, rss, cpu)
	}
	tw.Flush()
	for _, r := range results {
		if v, ok := r.Extra["vs_g3"].(float64); ok {
			fmt.Fprintf(w, "\n(b) = %.2f x (g3), HTTP and the query in one bare process; the service's CPU per request is %.0f us over (g3)'s\n", v, r.Extra["cpu_over_g3_us"])
		}
		if v, ok := r.Extra["cpu_over_h"].(float64); ok {
			fmt.Fprintf(w, "\n(d): the service's CPU per login is %.0f %% over (h)'s per verification (the bench's own process)\n", 100*v)
		}
		if v, ok := r.Extra["vs_floor_a_gk"].(float64); ok {
			fmt.Fprintf(w, "\n(v) = %.2f x 1/(1/a + 1/gk), (a)'s HTTP work and the key's SQL per request on the same cores (target 0.85, as (b)'s)\n", v)
		}
		if v, ok := r.Extra["vs_floor_h_g4"].(float64); ok {
			fmt.Fprintf(w, "\n(d) = %.2f x 1/(1/h + 1/g4), a verification and a login's SQL per login on the same cores\n", v)
		}
		if v, ok := r.Extra["recovery_backlog"]; ok {
			fmt.Fprintf(w, "\n(m) recovery requests still waiting for the worker when the load stopped: %v; all done in %v\n", v, r.Extra["recovery_drained_in"])
		}
		if r.Extra != nil && r.Name[0] == 'e' {
			fmt.Fprintf(w, "\n(e) logins sent at %.0f/s: statuses %v, p50 %v, p99 %v, not sent %v\n", r.Extra["login_rate_per_s"], r.Extra["login_statuses"], r.Extra["login_p50"], r.Extra["login_p99"], r.Extra["logins_not_sent"])
		}
	}
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s, %s", runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

func merge(a, b map[string]any) map[string]any {
	if a == nil {
		a = map[string]any{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
