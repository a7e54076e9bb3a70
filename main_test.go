package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/db"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/dbtest"
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
	s.do(t, "POST", "/api/v1/auth/login", `{"username":"nobody","password":"password1"}`)
	s.do(t, "POST", "/api/v1/auth/signup", `{"username":"metered","password":"password1"}`)
	s.do(t, "POST", "/api/v1/auth/login", `{"username":"metered","password":"password1"}`)
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
	body := `{"username":"roller","password":"password1"}`
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
