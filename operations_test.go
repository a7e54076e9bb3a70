package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/db"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

func TestServiceBasics(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine, dbURL string) {
		s := startService(t, map[string]string{"database.url": dbURL})
		for _, path := range []string{"/api/v1/", "/api/v1"} {
			r := s.do(t, "GET", path, "")
			if r.status != 200 || r.json(t)["status"] != "ok" {
				t.Errorf("GET %s = %d %s", path, r.status, r.body)
			}
		}
		if r := s.do(t, "GET", "/", ""); r.status != 307 || r.header.Get("Location") != "/docs" {
			t.Errorf("GET / = %d Location %q", r.status, r.header.Get("Location"))
		}
		if r := s.do(t, "GET", "/docs", ""); r.status != 200 {
			t.Errorf("GET /docs = %d", r.status)
		}
		for _, path := range []string{"/livez", "/readyz"} {
			if r := s.do(t, "GET", path, ""); r.status != 200 {
				t.Errorf("GET %s = %d %s", path, r.status, r.body)
			}
		}
		r := s.do(t, "GET", "/api/v1/nothing", "")
		if r.status != 404 || r.header.Get("Content-Type") != "application/problem+json" || r.json(t)["code"] != "not_found" {
			t.Errorf("unknown route = %d %s", r.status, r.body)
		}
		s.waitForLog(t, `"route":"/readyz"`)
	})
}

func TestSQLiteFileAndFolderAreCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "folder", "app.db")
	s := startService(t, map[string]string{"database.url": "sqlite:" + path})
	if r := s.do(t, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz = %d", r.status)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
}

func TestBadConfigurationExitsWithCode2(t *testing.T) {
	path := writeConfig(t, map[string]string{"auth.jwt_secret": "short", "database.url": "mysql://x"})
	err := run(context.Background(), []string{"--config", path}, io.Discard, io.Discard)
	var ce *config.Error
	if !errors.As(err, &ce) || exitCode(err) != 2 {
		t.Fatalf("run = %v (exit %d), want a config error with exit code 2", err, exitCode(err))
	}
	msg := err.Error()
	for _, want := range []string{"config: 2 problems", "auth.jwt_secret must be at least 32 bytes", `unsupported scheme "mysql"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestUsageErrorsExitWithCode2(t *testing.T) {
	path := writeConfig(t, map[string]string{"database.url": "sqlite:" + filepath.Join(t.TempDir(), "x.db")})
	for _, args := range [][]string{{"frobnicate"}, {"migrate"}, {"migrate", "sideways"}, {"migrate", "force"}, {"migrate", "down", "x"}, {"serve", "now"}, {"--nope"}} {
		err := run(context.Background(), append([]string{"--config", path}, args...), io.Discard, io.Discard)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("run %q = %v (exit %d), want exit code 2", args, err, exitCode(err))
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, map[string]string{"database.url": dbtest.EmptyURL(t, engine)})
			migrate := func(args ...string) string {
				t.Helper()
				var out bytes.Buffer
				if err := run(context.Background(), append([]string{"--config", path, "migrate"}, args...), &out, io.Discard); err != nil {
					t.Fatalf("migrate %q: %v", args, err)
				}
				return strings.TrimSpace(out.String())
			}
			latest := latestMigration(t)
			version := func(v int) string {
				if v == 0 {
					return "version: none (no migration applied)"
				}
				return fmt.Sprintf("version: %d", v)
			}
			steps := []struct {
				args []string
				want string
			}{
				{[]string{"version"}, version(0)},
				{[]string{"up"}, version(latest)},
				{[]string{"up"}, version(latest)}, // nothing to do is not an error
				{[]string{"down"}, version(latest - 1)},
				{[]string{"up"}, version(latest)},
				{[]string{"down", fmt.Sprint(latest)}, version(0)},
				{[]string{"up"}, version(latest)},
				{[]string{"force", "1"}, version(1)},
			}
			for _, s := range steps {
				if got := migrate(s.args...); got != s.want {
					t.Errorf("migrate %q printed %q, want %q", s.args, got, s.want)
				}
			}
		})
	}
}

func latestMigration(t *testing.T) int {
	t.Helper()
	n, err := db.LatestVersion("sqlite")
	if err != nil || n == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	return n
}

// TestUsersCreateCommand bootstraps a fresh database from the command line
// on both engines, and the new super admin logs in and manages users.
func TestUsersCreateCommand(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dbURL := dbtest.EmptyURL(t, engine) // not even migrated
			settings := map[string]string{"database.url": dbURL}
			for k, v := range cheapHashing {
				settings[k] = v
			}
			path := writeConfig(t, settings)
			var logs strings.Builder
			create := func(stdin string, args ...string) (string, error) {
				var out strings.Builder
				cfg, err := config.Load(path, func(string) string { return "" })
				if err != nil {
					t.Fatal(err)
				}
				err = usersCommand(context.Background(), cfg, append([]string{"create"}, args...), strings.NewReader(stdin), &out, &logs)
				return out.String(), err
			}
			out, err := create("first super password\n", "--username", "root.admin", "--role", "super_admin")
			if err != nil || !strings.HasPrefix(out, "created super_admin root.admin") {
				t.Fatalf("create: %q, %v", out, err)
			}
			// The event's log line, as the service writes it for events it records.
			id := strings.TrimSuffix(strings.TrimPrefix(out[strings.Index(out, "(id "):], "(id "), ")\n")
			if l := logs.String(); strings.Count(l, "msg=audit") != 1 || !strings.Contains(l, "type=user.created") ||
				!strings.Contains(l, "target_id="+id) || !strings.Contains(l, "actor_id=\"\"") || !strings.Contains(l, "via:cli") {
				t.Fatalf("users create logged %q, want one msg=audit line for user.created of %s by nobody, via the CLI", l, id)
			}
			_, err = create("another password\n", "--username", "ROOT.ADMIN", "--role", "admin")
			if err == nil || !strings.Contains(err.Error(), "already taken") || exitCode(err) != 1 {
				t.Fatalf("taken name: %v (exit %d)", err, exitCode(err))
			}
			out, err = create("mailed password\n", "--username", "mailed.admin", "--role", "admin", "--email", "Ops@Example.com")
			if err != nil || !strings.HasPrefix(out, "created admin mailed.admin") {
				t.Fatalf("create with --email: %q, %v", out, err)
			}
			out, err = create("another password\n", "--username", "mailed.two", "--role", "admin", "--email", "ops@example.COM")
			if err != nil || !strings.HasPrefix(out, "created admin mailed.two") {
				t.Fatalf("an address claimed, not verified, by another account: %q, %v", out, err)
			}
			if _, err = create("quiet-lamp-1\n", "--username", "bad.mail", "--role", "user", "--email", "Ops <ops@example.com>"); err == nil || !strings.Contains(err.Error(), "plain address") {
				t.Fatalf("bad address: %v", err)
			}
			_, err = create("short\n", "--username", "x", "--role", "admin")
			if err == nil || !strings.Contains(err.Error(), "username must be 5 to 20") || !strings.Contains(err.Error(), "at least 8") {
				t.Fatalf("bad credentials: %v", err)
			}
			_, err = create("IloveYou\n", "--username", "common.pw", "--role", "user")
			if err == nil || !strings.Contains(err.Error(), "password is too common") || exitCode(err) != 1 {
				t.Fatalf("common password: %v (exit %d)", err, exitCode(err))
			}
			for _, args := range [][]string{{"--username", "someone"}, {"--username", "someone", "--role", "root"}, {"--role", "user"}, {"--username", "someone", "--role", "user", "--password-env", "CLEANSLICE_TEST_UNSET_VARIABLE"}} {
				if _, err := create("quiet-lamp-1\n", args...); exitCode(err) != 2 {
					t.Errorf("%q: %v (exit %d), want a usage error", args, err, exitCode(err))
				}
			}

			app := newTestAppOn(t, dbURL, nil)
			c := app.client()
			expect(t, "super admin login", c.login(t, "root.admin", "first super password"), 200, "")
			expect(t, "super admin creates an admin", c.do(t, "POST", "/api/v1/users", `{"username":"an.admin","password":"quiet-lamp-1","role":"admin"}`), 201, "")
			expect(t, "super admin lists users", c.do(t, "GET", "/api/v1/users", ""), 200, "")
			if u, err := app.store.UserByUsername(context.Background(), "mailed.admin"); err != nil || u.Email != "Ops@Example.com" || u.EmailVerified() {
				t.Fatalf("the address given with --email: %+v, %v", u, err)
			}
			if _, err := app.store.DB().Exec(`UPDATE users SET email_verified_at = created_at WHERE username = 'mailed.admin'`); err != nil {
				t.Fatal(err)
			}
			_, err = create("another password\n", "--username", "mailed.three", "--role", "admin", "--email", "ops@example.COM")
			if err == nil || !strings.Contains(err.Error(), "belongs to another account") || exitCode(err) != 1 {
				t.Fatalf("a verified address: %v (exit %d)", err, exitCode(err))
			}
		})
	}
}

func TestUsersCreatePasswordFromEnv(t *testing.T) {
	t.Setenv("CLEANSLICE_TEST_PASSWORD", "from the environment")
	path := writeConfig(t, map[string]string{"database.url": dbtest.EmptyURL(t, "sqlite"), "password.argon2_memory_kib": "64", "password.argon2_iterations": "1"})
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := usersCommand(context.Background(), cfg, []string{"create", "--username", "env.user", "--role", "user", "--password-env", "CLEANSLICE_TEST_PASSWORD"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	app := newTestAppOn(t, cfg.Database.URL, nil)
	expect(t, "login with the password from the environment", app.client().login(t, "env.user", "from the environment"), 200, "")
}

func TestMetrics(t *testing.T) {
	s := startService(t, map[string]string{"database.url": "sqlite:" + filepath.Join(t.TempDir(), "m.db")})
	scrape := func() string {
		r := s.do(t, "GET", "/metrics", "")
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("/metrics: %d %q", r.status, r.header.Get("Content-Type"))
		}
		return string(r.body)
	}
	s.do(t, "GET", "/api/v1/", "")
	s.do(t, "GET", "/api/v1/", "")
	s.do(t, "POST", "/api/v1/auth/login", `{"username":"nobody","password":"quiet-lamp-1"}`)
	s.do(t, "POST", "/api/v1/auth/signup", `{"username":"metered","password":"quiet-lamp-1"}`)
	s.do(t, "POST", "/api/v1/auth/login", `{"username":"metered","password":"quiet-lamp-1"}`)
	s.do(t, "DELETE", "/api/v1/auth/logout", "")
	body := scrape()
	for _, want := range []string{
		`cleanslice_http_requests_total{method="GET",route="/api/v1",status="200"} 2`,
		`cleanslice_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/login",status="401"} 1`,
		`cleanslice_logins_total{outcome="invalid_credentials"} 1`,
		`cleanslice_password_hash_wait_seconds_count 3`,
		`cleanslice_sessions_ended_total{reason="logout"} 1`,
		`cleanslice_password_hashes_in_progress 0`,
		`go_sql_max_open_connections{db_name="sqlite"} 20`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	s.do(t, "GET", "/api/v1/", "")
	if !strings.Contains(scrape(), `cleanslice_http_requests_total{method="GET",route="/api/v1",status="200"} 3`) {
		t.Error("the request counter did not move")
	}
}

func TestMetricsOnASeparateListenerOrOff(t *testing.T) {
	metricsAddr := freeAddr(t)
	s := startService(t, map[string]string{"database.url": "sqlite:" + filepath.Join(t.TempDir(), "m.db"), "metrics.address": metricsAddr})
	expectStatus := func(url string, want int) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", url, resp.StatusCode, want)
		}
	}
	expectStatus("http://"+metricsAddr+"/metrics", 200)
	expectStatus(s.base+"/metrics", 404)

	off := startService(t, map[string]string{"database.url": "sqlite:" + filepath.Join(t.TempDir(), "m.db"), "metrics.enabled": "false"})
	expectStatus(off.base+"/metrics", 404)
}

// TestRollingRestart: on shutdown with http.shutdown_delay, /readyz says 503
// at once while every route still serves (Connection: close); a login whose
// body is still arriving when the listener closes completes with 200; run
// returns cleanly and the log names each phase.
func TestRollingRestart(t *testing.T) {
	addr := freeAddr(t)
	path := writeConfig(t, map[string]string{
		"http.address": addr, "http.shutdown_delay": "700ms", "log.format": "json",
		"database.url": dbtest.URL(t, "sqlite"), "password.argon2_memory_kib": "64", "password.argon2_iterations": "1",
	})
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, io.Discard, logs) }()
	base := "http://" + addr
	get := func(p string) *http.Response {
		t.Helper()
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", p, err, logs)
		}
		resp.Body.Close()
		return resp
	}
	for range 200 {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	body := `{"username":"roller","password":"quiet-lamp-1"}`
	resp, err := http.Post(base+"/api/v1/auth/signup", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %v %v", resp, err)
	}
	resp.Body.Close()
	if r := get("/readyz"); r.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", r.StatusCode)
	}

	// A login that starts now and sends the rest of its body only after
	// the listener has closed.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body[:10])

	cancel() // SIGTERM
	for range 100 {
		if r, err := http.Get(base + "/readyz"); err == nil && r.StatusCode == http.StatusServiceUnavailable {
			r.Body.Close()
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := get("/readyz"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d, want 503", r.StatusCode)
	}
	if r := get("/api/v1/"); r.StatusCode != http.StatusOK || !r.Close {
		t.Fatalf("a route while draining: %d, Connection: close %v", r.StatusCode, r.Close)
	}
	for range 300 { // until the listener is closed
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the listener is still open after the delay")
	}
	fmt.Fprint(conn, body[10:])
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("in-flight login: %v, %v\n%s", r, err, logs)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("service did not stop")
	}
	for _, phase := range []string{"shutdown: draining", "shutdown: listener closed", "shutdown: stopping background work", "stopped"} {
		if !strings.Contains(logs.String(), phase) {
			t.Errorf("no log line %q:\n%s", phase, logs)
		}
	}
}

// TestDatabaseOutage cuts the service off from PostgreSQL while it runs:
// /readyz must answer 503 quickly, the process must stay up, and once the
// database is back everything must answer 200 without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dbURL, proxy := dbtest.ProxyURL(t, dbtest.URL(t, "postgres"))
	s := startService(t, map[string]string{"database.url": dbURL, "database.migrate_on_start": "false"})
	s.client.Timeout = 2 * time.Second // the readiness answer must come within 2 s

	if r := s.do(t, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz before the outage = %d %s", r.status, r.body)
	}
	creds := `{"username":"alice","password":"quiet-lamp-1"}`
	if r := s.do(t, "POST", "/api/v1/auth/signup", creds); r.status != 201 {
		t.Fatalf("signup = %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/api/v1/auth/login", creds); r.status != 200 {
		t.Fatalf("login = %d %s", r.status, r.body)
	}
	proxy.Cut()
	for range 3 {
		r := s.do(t, "GET", "/readyz", "")
		if r.status != 503 || r.header.Get("Content-Type") != "application/problem+json" || r.json(t)["code"] != "service_unavailable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("readyz during the outage = %d %v %s", r.status, r.header, r.body)
		}
	}
	for _, path := range []string{"/api/v1/auth/me", "/api/v1/auth/signup", "/api/v1/auth/login"} {
		method, body := "POST", `{"username":"bobby","password":"quiet-lamp-1"}`
		if path == "/api/v1/auth/me" {
			method, body = "GET", ""
		}
		r := s.do(t, method, path, body)
		if r.status != 503 || r.json(t)["code"] != "service_unavailable" || r.header.Get("Retry-After") == "" {
			t.Fatalf("%s during the outage = %d %s", path, r.status, r.body)
		}
	}
	if r := s.do(t, "GET", "/livez", ""); r.status != 200 {
		t.Fatalf("livez during the outage = %d: the process must stay alive", r.status)
	}
	proxy.Restore()
	if r := s.do(t, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz after the outage = %d %s", r.status, r.body)
	}
	if r := s.do(t, "GET", "/api/v1/auth/me", ""); r.status != 200 {
		t.Fatalf("me after the outage = %d %s: the session must survive", r.status, r.body)
	}
}

// silentBounds are the deadlines of the silent-database tests: shorter
// than the defaults (5 s and 4 s) so the suite stays quick.
var silentBounds = map[string]string{"http.request_timeout": "2s", "database.response_timeout": "1s"}

// within runs do and fails the test if it took longer than bound.
func within(t *testing.T, what string, bound time.Duration, do func() response) response {
	t.Helper()
	start := time.Now()
	r := do()
	if took := time.Since(start); took > bound {
		t.Errorf("%s took %s, more than %s", what, took.Round(time.Millisecond), bound)
	}
	return r
}

// TestSilentDatabase freezes the link to PostgreSQL (connections stay
// open, nothing comes back): the authenticated read, a login and an admin
// change answer 503 with Retry-After within the request deadline; when the
// link comes back the next request is a 200 at once, on no stale
// connection.
func TestSilentDatabase(t *testing.T) {
	t.Parallel()
	dbURL, proxy := dbtest.ProxyURL(t, dbtest.URL(t, "postgres"))
	app := newTestAppOn(t, dbURL, silentBounds)
	admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
	alice := app.loggedIn(t, "alice.user", user.RoleUser)
	app.seed(t, "target.user", user.RoleUser)
	bound := 2*time.Second + 500*time.Millisecond // the deadline, and writing the answer

	proxy.Freeze()
	for _, c := range []struct {
		name               string
		c                  *client
		method, path, body string
	}{
		{"me", alice, "GET", "/api/v1/auth/me", ""},
		{"login", app.client(), "POST", "/api/v1/auth/login", `{"username":"alice.user","password":"quiet-lamp-1"}`},
		{"inactivate", admin, "PATCH", "/api/v1/users/inactivate", usernameBody("target.user")},
		{"readyz", app.client(), "GET", "/readyz", ""},
	} {
		r := within(t, c.name+" during a freeze", bound, func() response { return c.c.do(t, c.method, c.path, c.body) })
		expect(t, c.name+" during a freeze", r, 503, "service_unavailable")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s during a freeze: no Retry-After", c.name)
		}
	}
	if r := app.client().do(t, "GET", "/livez", ""); r.status != 200 {
		t.Fatalf("livez during a freeze: %d", r.status)
	}
	proxy.Thaw()
	r := within(t, "me after the freeze", time.Second, func() response { return alice.do(t, "GET", "/api/v1/auth/me", "") })
	expect(t, "me after the freeze", r, 200, "")
	r = within(t, "inactivate after the freeze", time.Second, func() response {
		return admin.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody("target.user"))
	})
	expect(t, "inactivate after the freeze", r, 200, "")
}

// TestCutOffReplicaReleasesItsLock: replica A takes a user's row lock
// (SELECT ... FOR UPDATE) and is then cut off silently. PostgreSQL ends
// A's idle transaction, so replica B, on a direct connection, changes the
// row within seconds instead of waiting for TCP to give up.
func TestCutOffReplicaReleasesItsLock(t *testing.T) {
	t.Parallel()
	direct := dbtest.URL(t, "postgres")
	viaProxy, proxy := dbtest.ProxyURL(t, direct)
	ctx := context.Background()
	a, err := postgres.Open(ctx, viaProxy, postgres.Options{MaxOpenConns: 2, ResponseTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, direct, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u := user.New("locked.user", "$hash", user.RoleUser, time.Now())
	if err := b.InsertUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	locked := make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		aDone <- a.WithinTx(ctx, func(ctx context.Context) error {
			if _, err := a.UserByUsernameForUpdate(ctx, u.Username); err != nil {
				return err
			}
			proxy.Freeze() // cut off while holding the row lock
			close(locked)
			return a.SetUserActive(ctx, u.ID, false, time.Now())
		})
	}()
	<-locked
	start := time.Now()
	bctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.SetUserActive(bctx, u.ID, true, time.Now()); err != nil {
		t.Fatalf("replica B could not change the row: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("replica B waited %s for the cut-off replica's lock", took.Round(time.Millisecond))
	}
	if err := <-aDone; err == nil {
		t.Error("the cut-off replica's transaction committed")
	}
	proxy.Thaw()
}

// TestSQLiteWriteLockIsBounded: while another connection holds SQLite's
// write lock, a signup gets 503 within the deadline instead of waiting.
func TestSQLiteWriteLockIsBounded(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, "sqlite", silentBounds)
	ctx := context.Background()
	conn, err := app.store.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	r := within(t, "signup while the write lock is held", 2*time.Second+500*time.Millisecond, func() response {
		return app.client().signup(t, "blocked.user", "quiet-lamp-1")
	})
	expect(t, "signup while the write lock is held", r, 503, "service_unavailable")
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	expect(t, "signup after", app.client().signup(t, "blocked.user", "quiet-lamp-1"), 201, "")
}

// Secret generations of the rotation tests, each 32+ bytes.
const (
	secretA = "jwt-secret-A-0123456789abcdef0123456789"
	secretB = "jwt-secret-B-0123456789abcdef0123456789"
	pepper1 = "pepper-one-0123456789abcdef0123456789ab"
	pepper2 = "pepper-two-0123456789abcdef0123456789ab"
)

// kidOf returns the kid header of a session cookie's JWT.
func kidOf(t *testing.T, c *http.Cookie) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(c.Value, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// withCookie calls the app with a session cookie and no jar.
func withCookie(t *testing.T, app *testApp, method, path string, c *http.Cookie) response {
	t.Helper()
	return send(t, http.DefaultClient, method, app.url+path, "", "Cookie", c.Name+"="+c.Value)
}

// TestJWTSecretRotation: restarts of the service on one database with the
// secrets of a rotation. A cookie of the old secret keeps working after the
// rotation and comes back signed with the new one (same session); once
// the old secret is dropped only re-issued cookies work.
func TestJWTSecretRotation(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dbURL := dbtest.URL(t, engine)
			before := newTestAppOn(t, dbURL, map[string]string{"auth.jwt_secret": secretA})
			c := before.client()
			expect(t, "signup", c.signup(t, "rotating.user", "quiet-lamp-1"), 201, "")
			login := c.login(t, "rotating.user", "quiet-lamp-1")
			expect(t, "login", login, 200, "")
			old := login.sessionCookie()
			if kidOf(t, old) != token.KeyID(secretA) {
				t.Fatalf("cookie kid %q, want the id of secret A", kidOf(t, old))
			}

			rotated := newTestAppOn(t, dbURL, map[string]string{"auth.jwt_secret": secretB, "auth.jwt_previous_secrets": secretA})
			r := withCookie(t, rotated, "GET", "/api/v1/auth/me", old)
			expect(t, "me with an old-secret cookie after the rotation", r, 200, "")
			reissued := r.sessionCookie()
			if reissued == nil || kidOf(t, reissued) != token.KeyID(secretB) {
				t.Fatalf("old cookie not re-issued with secret B: %v", reissued)
			}
			u, _ := rotated.store.UserByUsername(context.Background(), "rotating.user")
			if n, _ := rotated.store.SessionCount(context.Background(), u.ID); n != 1 {
				t.Fatalf("%d sessions after the re-issue, want the same one", n)
			}
			expect(t, "me with the re-issued cookie", withCookie(t, rotated, "GET", "/api/v1/auth/me", reissued), 200, "")

			dropped := newTestAppOn(t, dbURL, map[string]string{"auth.jwt_secret": secretB})
			expect(t, "old cookie after dropping secret A", withCookie(t, dropped, "GET", "/api/v1/auth/me", old), 401, "not_authenticated")
			expect(t, "re-issued cookie after dropping secret A", withCookie(t, dropped, "GET", "/api/v1/auth/me", reissued), 200, "")
		})
	}
}

// TestPepperRotation: a hash of the old pepper logs in after the rotation
// and is upgraded to the new pepper in the same step; a hash whose pepper
// was dropped is refused exactly like a wrong password, and logged; the
// hash report counts both.
func TestPepperRotation(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dbURL := dbtest.URL(t, engine)
			before := newTestAppOn(t, dbURL, map[string]string{"password.pepper": pepper1})
			expect(t, "signup", before.client().signup(t, "moving.user", "quiet-lamp-1"), 201, "")
			expect(t, "signup", before.client().signup(t, "staying.user", "quiet-lamp-1"), 201, "")

			rotated := newTestAppOn(t, dbURL, map[string]string{"password.pepper": pepper2, "password.previous_peppers": pepper1})
			expect(t, "old-pepper login after the rotation", rotated.client().login(t, "moving.user", "quiet-lamp-1"), 200, "")
			u, err := rotated.store.UserByUsername(ctx, "moving.user")
			if id, _ := password.Describe(u.PasswordHash); err != nil || id != password.PepperID(pepper2) {
				t.Fatalf("hash not upgraded to the new pepper: %s %v", u.PasswordHash, err)
			}

			settings := map[string]string{"password.pepper": pepper2, "database.url": dbURL, "password.argon2_memory_kib": "64", "password.argon2_iterations": "1"}
			var report bytes.Buffer
			if err := run(ctx, []string{"--config", writeConfig(t, settings), "users", "hashes"}, &report, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{password.PepperID(pepper2): "password.pepper (current)", password.PepperID(pepper1): "NOT CONFIGURED"} {
				found := false
				for _, line := range strings.Split(report.String(), "\n") {
					f := strings.Fields(line)
					found = found || len(f) > 2 && f[0] == id && strings.Contains(line, want) && f[len(f)-1] == "1"
				}
				if !found {
					t.Errorf("hash report lacks %s %q with 1 hash:\n%s", id, want, report.String())
				}
			}

			dropped := newTestAppOn(t, dbURL, map[string]string{"password.pepper": pepper2})
			gone := dropped.client().login(t, "staying.user", "quiet-lamp-1")
			wrong := dropped.client().login(t, "moving.user", "wrong password")
			expect(t, "login on a dropped pepper", gone, 401, "invalid_credentials")
			expect(t, "wrong password", wrong, 401, "invalid_credentials")
			if g, w := gone.json(t), wrong.json(t); g["detail"] != w["detail"] || g["title"] != w["title"] || g["type"] != w["type"] {
				t.Fatalf("a dropped pepper is told apart from a wrong password: %s vs %s", gone.body, wrong.body)
			}
			if !strings.Contains(dropped.logs.String(), password.PepperID(pepper1)) {
				t.Errorf("the dropped pepper's id is not logged:\n%s", dropped.logs.String())
			}
			expect(t, "upgraded user after the drop", dropped.client().login(t, "moving.user", "quiet-lamp-1"), 200, "")
		})
	}
}

// TestPurge runs the purge loop on both engines: expired sessions and stale
// failure windows go, live ones stay, and the loop stops with its context.
func TestPurge(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			store := dbtest.Open(t, engine)
			ctx := context.Background()
			now := time.Now()
			u := user.New("alice", "$hash", user.RoleUser, now)
			if err := store.InsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			policy := session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}
			_, oldID := session.NewSecret()
			_, liveID := session.NewSecret()
			for _, s := range []session.Session{policy.Start(oldID, u.ID, now.Add(-2*time.Minute)), policy.Start(liveID, u.ID, now)} {
				if err := store.InsertSession(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := store.ReserveAttempts(ctx, now.Add(-time.Hour), 15*time.Minute, []auth.Limit{{Key: "user:old", Max: 5}}); err != nil {
				t.Fatal(err)
			}
			if _, err := store.ReserveAttempts(ctx, now, 15*time.Minute, []auth.Limit{{Key: "user:recent", Max: 5}}); err != nil {
				t.Fatal(err)
			}

			loopCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() {
				purge(loopCtx, store, metrics.New(), slog.New(slog.DiscardHandler), sqlstore.Retention{Attempts: 15 * time.Minute}, 10*time.Millisecond)
			})
			for range 300 {
				n, _ := store.SessionCount(ctx, u.ID)
				if n == 1 && windowCount(t, store, "user:old") == -1 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			wg.Wait() // the loop must end with its context

			if _, _, err := store.SessionWithUser(ctx, liveID); err != nil {
				t.Errorf("the live session was purged: %v", err)
			}
			if _, _, err := store.SessionWithUser(ctx, oldID); err == nil {
				t.Error("the expired session survived the purge")
			}
			if old, recent := windowCount(t, store, "user:old"), windowCount(t, store, "user:recent"); old != -1 || recent != 1 {
				t.Errorf("attempt windows after the purge: old %d, recent %d (-1: none)", old, recent)
			}
		})
	}
}

// TestTuneGC: without GOGC and GOMEMLIMIT the limit is the hashes' working
// set plus headroom (less on SQLite) and GOGC is 400; with either set,
// nothing changes.
func TestTuneGC(t *testing.T) {
	prevLimit, prevPercent := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(prevPercent) // SetGCPercent(-1) turned the collector off: undo at once
	t.Cleanup(func() {
		debug.SetMemoryLimit(prevLimit)
		debug.SetGCPercent(prevPercent)
	})
	cfg := config.Password{MaxConcurrency: 4, Argon2MemoryKiB: 19456}
	log := slog.New(slog.DiscardHandler)
	tuneGC(cfg, "postgres", func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }, log)
	if debug.SetMemoryLimit(-1) != prevLimit {
		t.Fatal("an operator's GOMEMLIMIT was overridden")
	}
	for engine, want := range map[string]int64{
		"postgres": 32<<20 + 2*4*19456<<10,
		"sqlite":   24<<20 + 2*4*19456<<10, // SQLite's C memory is outside the limit
	} {
		tuneGC(cfg, engine, func(string) string { return "" }, log)
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("%s: memory limit %d MiB, want %d MiB", engine, got>>20, want>>20)
		}
	}
	if got := debug.SetGCPercent(prevPercent); got != 400 {
		t.Errorf("GOGC %d, want 400", got)
	}
}

// TestExtraProcs: one processor more than the hashes can hold, from the
// runtime's count, and none when the operator set GOMAXPROCS, when the
// runtime runs on fewer processors than the machine has cores (a
// container's CPU limit) or when the hashes cannot take every processor.
func TestExtraProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	none := func(string) string { return "" }
	if _, _, ok := extraProcs(config.Password{MaxConcurrency: prev + 3}, func(k string) string { return map[string]string{"GOMAXPROCS": "1"}[k] }); ok {
		t.Error("with GOMAXPROCS set: an extra processor")
	}
	cpus := runtime.NumCPU()
	runtime.GOMAXPROCS(cpus)
	if base, raised, ok := extraProcs(config.Password{MaxConcurrency: cpus}, none); !ok || base != cpus || raised != cpus+1 {
		t.Errorf("%d hashes on %d cores: %d -> %d (%v), want %d -> %d", cpus, cpus, base, raised, ok, cpus, cpus+1)
	}
	if base, raised, ok := extraProcs(config.Password{MaxConcurrency: cpus + 3}, none); !ok || base != cpus || raised != cpus+4 {
		t.Errorf("%d hashes on %d cores: %d -> %d (%v), want %d -> %d", cpus+3, cpus, base, raised, ok, cpus, cpus+4)
	}
	if _, _, ok := extraProcs(config.Password{MaxConcurrency: cpus - 1}, none); ok {
		t.Errorf("%d hashes on %d cores: an extra processor", cpus-1, cpus)
	}
	if cpus > 1 {
		runtime.GOMAXPROCS(cpus - 1)
		if _, _, ok := extraProcs(config.Password{MaxConcurrency: cpus - 1}, none); ok {
			t.Errorf("under a CPU limit of %d of %d cores: an extra processor", cpus-1, cpus)
		}
	}
}

// contention is a Foreground for followForeground: contended while set.
type contention struct{ atomic.Bool }

func (c *contention) Contended() bool { return c.Load() }

// TestFollowForeground: the processors go up once samples find requests
// contending with hashes, stay up while they keep coming, and go back down
// once ten samples in a row found none. (When requests contend is
// TestForeground's.)
func TestFollowForeground(t *testing.T) {
	var fg contention
	sets := make(chan int, 16)
	set := func(n int) int { sets <- n; return 0 }
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	const sample = 20 * time.Millisecond
	go func() {
		defer close(stopped)
		followForeground(ctx, &fg, 2, 3, sample, set, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	expect := func(what string, want int) {
		t.Helper()
		select {
		case got := <-sets:
			if got != want {
				t.Fatalf("%s: processors set to %d, want %d", what, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: processors not set to %d", what, want)
		}
	}
	nothing := func(what string, d time.Duration) {
		t.Helper()
		select {
		case got := <-sets:
			t.Fatalf("%s: processors set to %d", what, got)
		case <-time.After(d):
		}
	}

	nothing("idle", 20*sample)
	fg.Store(true)
	expect("a request in flight", 3)
	// Requests again before ten samples found none keep the processor.
	for range 5 {
		fg.Store(false)
		time.Sleep(2 * sample)
		fg.Store(true)
		time.Sleep(3 * sample)
	}
	if len(sets) != 0 {
		t.Fatalf("requests kept coming, yet the processors were set to %d", <-sets)
	}
	fg.Store(false)
	expect("no request for ten samples", 2)
	nothing("quiet", 20*sample)
}
