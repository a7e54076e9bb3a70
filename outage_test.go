package main

import (
	"context"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/shared/user"
)

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
	creds := `{"username":"alice","password":"password1"}`
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
		method, body := "POST", `{"username":"bobby","password":"password1"}`
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
		{"login", app.client(), "POST", "/api/v1/auth/login", `{"username":"alice.user","password":"password1"}`},
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
		return app.client().signup(t, "blocked.user", "password1")
	})
	expect(t, "signup while the write lock is held", r, 503, "service_unavailable")
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	expect(t, "signup after", app.client().signup(t, "blocked.user", "password1"), 201, "")
}
