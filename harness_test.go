package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/openapi"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/platform/totp"
	"github.com/cleanslice/cleanslice/shared/user"
)

// TestMain keeps the runtime's own collector and scheduler settings for
// the tests: many services share this process, so serve's tuning (which
// steps aside when GOGC and GOMAXPROCS are set) would size one process for
// all of them by one's config.
func TestMain(m *testing.M) {
	if os.Getenv("GOGC") == "" {
		os.Setenv("GOGC", "100")
	}
	if os.Getenv("GOMAXPROCS") == "" {
		os.Setenv("GOMAXPROCS", strconv.Itoa(runtime.GOMAXPROCS(0)))
	}
	os.Exit(m.Run())
}

// cheapHashing keeps argon2 fast in tests; the parameters' cost is measured
// by the benchmarks in platform/password.
var cheapHashing = map[string]string{
	"password.argon2_memory_kib": "64",
	"password.argon2_iterations": "1",
	"password.queue_timeout":     "30s",
	// Every client of these tests is 127.0.0.1; TestSignupThrottle sets a
	// limit.
	"auth.max_signups_per_ip": "0",
}

// testClock is the service's clock in these tests.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testApp is the whole route table on a real database with a controlled
// clock, served over real HTTP.
type testApp struct {
	url   string
	store *sqlstore.Store
	clock *testClock
	logs  *syncBuffer
	cfg   config.Config
}

func newTestApp(t testing.TB, engine string, settings map[string]string) *testApp {
	t.Helper()
	if engine == dbtest.PgBouncer {
		// What PgBouncer < 1.21 in transaction mode needs.
		settings = maps.Clone(settings)
		if settings == nil {
			settings = map[string]string{}
		}
		settings["database.prepared_statements"] = "false"
	}
	return newTestAppOn(t, dbtest.URL(t, engine), settings)
}

// newTestAppOn serves the route table on the database at dbURL. Its
// http.public_url is where it listens, unless settings say otherwise.
func newTestAppOn(t testing.TB, dbURL string, settings map[string]string) *testApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newTestAppOnListener(t, dbURL, ln, settings)
}

// newTestAppOnListener is newTestAppOn serving on ln.
func newTestAppOnListener(t testing.TB, dbURL string, ln net.Listener, settings map[string]string) *testApp {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	all := map[string]string{"database.url": dbURL, "http.public_url": "http://" + ln.Addr().String()}
	for k, v := range cheapHashing {
		all[k] = v
	}
	for k, v := range settings {
		all[k] = v
	}
	cfg, err := config.Load(writeConfig(t, all), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log, m := slog.New(slog.NewJSONHandler(logs, nil)), metrics.New()
	store, err := openStore(context.Background(), cfg.Database, audited(log, m))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Now().UTC()}
	h, err := newHandler(background(t), cfg, log, store, m, &httpserver.Drain{}, httpserver.NewForeground(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &testApp{url: srv.URL, store: store, clock: clock, logs: logs, cfg: cfg}
}

// background is the runner of a test's handler: its work ends with the
// test, and the test's cleanup waits for it to end, before anything
// registered earlier (the store it uses) is closed. Without the wait a
// worker's last query could still hold the database while the test's
// directory was removed.
func background(t testing.TB) runner {
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	return runner{t.Context(), &wg}
}

// client is one browser: its own cookie jar.
type client struct {
	app  *testApp
	http *http.Client
}

func (a *testApp) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{app: a, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (c *client) do(t testing.TB, method, path, body string, header ...string) response {
	t.Helper()
	return send(t, c.http, method, c.app.url+path, body, header...)
}

func credentials(username, password string) string {
	return fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
}

func (c *client) signup(t testing.TB, username, password string) response {
	t.Helper()
	return c.do(t, "POST", "/api/v1/auth/signup", credentials(username, password))
}

func (c *client) login(t testing.TB, username, password string) response {
	t.Helper()
	return c.do(t, "POST", "/api/v1/auth/login", credentials(username, password))
}

// childConfig, in the environment of this test binary, makes a crash test
// (one that begins with runIfChild) the whole program with that config
// file: the process the test kills.
const childConfig = "CLEANSLICE_TEST_PROGRAM_CONFIG"

// runIfChild runs the whole program, and nothing of the test, when this
// binary was started by startChild.
func runIfChild(t *testing.T) {
	if path := os.Getenv(childConfig); path != "" {
		err := run(context.Background(), []string{"--config", path}, os.Stdout, os.Stderr)
		t.Fatalf("the program returned before it was killed: %v", err)
	}
}

// child is the program in a process of its own, for a test to kill.
type child struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
}

// startChild runs the program with settings in a process of its own (this
// test binary running test, which begins with runIfChild) and returns it
// once it answers /livez. The test's end kills it unless kill did.
func startChild(t *testing.T, test string, settings map[string]string) *child {
	t.Helper()
	settings = maps.Clone(settings)
	settings["http.address"] = freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childConfig+"="+writeConfig(t, settings))
	c := &child{cmd: cmd, base: "http://" + settings["http.address"], logs: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ; i++ {
		if resp, err := hc.Get(c.base + "/livez"); err == nil {
			resp.Body.Close()
			return c
		}
		if i == 400 {
			t.Fatalf("the program did not start:\n%s", c.logs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// kill ends the program with SIGKILL and fails the test unless that is
// what ended it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the program ended otherwise than killed: %v\n%s", err, c.logs)
	}
}

// service is a running instance of the whole program, started through run.
type service struct {
	base   string
	client *http.Client
	logs   *syncBuffer
}

// startService runs the program with the given settings on a free port
// and stops it (checking that it stops cleanly) when the test ends.
func startService(t *testing.T, settings map[string]string) *service {
	t.Helper()
	addr := freeAddr(t)
	settings["http.address"] = addr
	settings["log.format"] = "json"
	path := writeConfig(t, settings)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v\nlogs:\n%s", err, logs)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("service did not stop\nlogs:\n%s", logs)
		}
	})
	jar, _ := cookiejar.New(nil)
	s := &service{base: "http://" + addr, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, logs: logs}
	for range 200 {
		select {
		case err := <-done:
			t.Fatalf("service exited at start: %v\nlogs:\n%s", err, logs)
		default:
		}
		if resp, err := http.Get(s.base + "/livez"); err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("service did not start\nlogs:\n%s", logs)
	return nil
}

// waitForLog waits for a line containing want: info lines are flushed
// every logging.FlushInterval.
func (s *service) waitForLog(t *testing.T, want string) {
	t.Helper()
	for range 100 {
		if strings.Contains(s.logs.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no log line with %s:\n%s", want, s.logs)
}

func (s *service) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return send(t, s.client, method, s.base+path, body)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes a config file from key = value lines grouped by section.
func writeConfig(t testing.TB, settings map[string]string) string {
	t.Helper()
	sections := map[string][]string{}
	for k, v := range settings {
		section, key, ok := strings.Cut(k, ".")
		if !ok {
			section, key = "", k
		}
		sections[section] = append(sections[section], fmt.Sprintf("%s = %q", key, v))
	}
	var b strings.Builder
	b.WriteString(strings.Join(sections[""], "\n") + "\n")
	for s, lines := range sections {
		if s != "" {
			fmt.Fprintf(&b, "[%s]\n%s\n", s, strings.Join(lines, "\n"))
		}
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// sessionCookie returns the session cookie the response sets, if any.
func (r response) sessionCookie() *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "access_token" {
			return c
		}
	}
	return nil
}

// send makes one request (a JSON body when body is not empty; header is
// name, value pairs), reads the whole answer and checks it against the
// OpenAPI document.
func send(t testing.TB, hc *http.Client, method, url, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	checkAgainstDoc(t, method, req.URL.String(), r)
	return r
}

// expect fails unless r has the status and, for an error, the problem code.
func expect(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if code == "" {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	var p struct{ Code string }
	json.Unmarshal(r.body, &p)
	if p.Code != code {
		t.Fatalf("%s: code %q, want %q; body %s", what, p.Code, code, r.body)
	}
}

type apiDoc struct {
	doc    *openapi3.T
	router routers.Router
}

// loadDoc parses and validates the served document once per test process.
var loadDoc = sync.OnceValues(func() (*apiDoc, error) {
	// The few HTML answers (a provider callback's re-post page) are text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
	b, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, err
	}
	doc.Servers = nil // match request paths as they are
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &apiDoc{doc: doc, router: router}, nil
})

func mustDoc(t testing.TB) *apiDoc {
	t.Helper()
	d, err := loadDoc()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return d
}

// checkAgainstDoc fails the test when a response to a documented operation
// breaks the document: an undocumented status, content type or body shape.
// Requests the document does not describe (unknown paths, wrong methods,
// /docs) are left to the route-table test.
func checkAgainstDoc(t testing.TB, method, rawURL string, r response) {
	t.Helper()
	d := mustDoc(t)
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var route *routers.Route
	var params map[string]string
	for _, p := range []string{u.Path, strings.TrimSuffix(u.Path, "/"), u.Path + "/"} {
		req := &http.Request{Method: method, URL: &url.URL{Path: p, RawQuery: u.RawQuery}, Header: http.Header{}}
		if route, params, err = d.router.FindRoute(req); err == nil {
			break
		}
	}
	if route == nil {
		return
	}
	req, _ := http.NewRequest(method, u.String(), nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d breaks openapi.yaml: %v\nbody: %s", method, u.Path, r.status, err, r.body)
	}
}

func forEachApp(t *testing.T, settings map[string]string, test func(t *testing.T, app *testApp)) {
	forEachAppOn(t, dbtest.Engines, settings, test)
}

// forEachAppOn runs test on each of engines: dbtest.ScaleOut adds
// PostgreSQL through PgBouncer in transaction mode and PostgreSQL at
// SERIALIZABLE, for the flows that must hold however the service is
// deployed.
func forEachAppOn(t *testing.T, engines []string, settings map[string]string, test func(t *testing.T, app *testApp)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			test(t, newTestApp(t, engine, settings))
		})
	}
}

func forEachEngine(t *testing.T, test func(t *testing.T, engine, dbURL string)) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			test(t, engine, dbtest.URL(t, engine))
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const seedPassword = "quiet-lamp-1"

// seed stores a user with seedPassword, as the CLI would.
func (a *testApp) seed(t *testing.T, name string, role user.Role) user.User {
	t.Helper()
	hash, err := newHasher(a.cfg.Password, nil, nil, nil).Hash(context.Background(), seedPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := user.New(name, hash, role, a.clock.Now())
	if err := a.store.InsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// loggedIn seeds a user and returns a client logged in as it.
func (a *testApp) loggedIn(t *testing.T, name string, role user.Role) *client {
	t.Helper()
	a.seed(t, name, role)
	c := a.client()
	expect(t, "login "+name, c.login(t, name, seedPassword), 200, "")
	return c
}

// snapshot is every user row and the session count, to prove that a
// refused request changed nothing.
func (a *testApp) snapshot(t *testing.T) string {
	t.Helper()
	rows, err := a.store.DB().Query(`SELECT id || '|' || username || '|' || password_hash || '|' || role || '|' || is_active || '|' || updated_at FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n") + fmt.Sprintf("\nsessions: %d, audit events: %d", a.count(t, "sessions"), a.count(t, "audit_events"))
}

func (a *testApp) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := a.store.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dump returns every row of table as text, for looking for what must not
// be there.
func (a *testApp) dump(t *testing.T, table string) []string {
	t.Helper()
	rows, err := a.store.DB().Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for k := range vals {
			ptrs[k] = &vals[k]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s", vals))
	}
	return out
}

// dumpColumn returns a one-column query's values, space-separated.
func (a *testApp) dumpColumn(t *testing.T, q string) string {
	t.Helper()
	rows, err := a.store.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return strings.Join(out, " ")
}

// logLines returns the service's log lines that contain s.
func (a *testApp) logLines(s string) string {
	var out []string
	for _, l := range strings.Split(a.logs.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// userID returns the id of the user name.
func (a *testApp) userID(t *testing.T, name string) uuid.UUID {
	t.Helper()
	u, err := a.store.UserByUsername(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func usernameBody(n string) string { return fmt.Sprintf(`{"username":%q}`, n) }

func problemFields(t *testing.T, r response) []string {
	t.Helper()
	var p struct{ Errors []struct{ Field string } }
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

type sessionsBody struct {
	Sessions []struct {
		ID         *string  `json:"id"`
		UserAgent  string   `json:"user_agent"`
		IP         string   `json:"ip"`
		Current    *bool    `json:"current"`
		CreatedAt  string   `json:"created_at"`
		LastSeenAt string   `json:"last_seen_at"`
		ExpiresAt  string   `json:"expires_at"`
		AAL        int      `json:"aal"`
		Methods    []string `json:"methods"`
	}
}

func sessionsOf(t *testing.T, r response) sessionsBody {
	t.Helper()
	var b sessionsBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("sessions body %s: %v", r.body, err)
	}
	return b
}

// enrolled is a user with an authenticator app enabled: their secret and
// recovery codes, and the client that enrolled (logged in).
type enrolled struct {
	user   user.User
	client *client
	secret string
	codes  []string
}

// enroll seeds name, logs in and enables an authenticator app, through the
// API.
func (a *testApp) enroll(t *testing.T, name string, role user.Role) enrolled {
	t.Helper()
	u := a.seed(t, name, role)
	c := a.client()
	expect(t, "login "+name, c.login(t, name, seedPassword), 200, "")
	r := c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"`+seedPassword+`"}`)
	expect(t, "setup", r, 200, "")
	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
	}
	json.Unmarshal(r.body, &setup)
	r = c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", a.codeBody(t, setup.Secret))
	expect(t, "enable", r, 200, "")
	var codes struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	json.Unmarshal(r.body, &codes)
	// The step of the enabling code is used: the next code is a step on.
	a.clock.Advance(totp.Period)
	return enrolled{user: u, client: c, secret: setup.Secret, codes: codes.RecoveryCodes}
}

// code is what the authenticator app shows now, by the service's clock.
func (a *testApp) code(t testing.TB, secret string) string {
	t.Helper()
	c, err := totp.Code(secret, a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (a *testApp) codeBody(t testing.TB, secret string) string {
	return `{"code":"` + a.code(t, secret) + `"}`
}

// pending logs a new client in as name up to its second step.
func (a *testApp) pending(t *testing.T, name string) *client {
	t.Helper()
	c := a.client()
	r := c.login(t, name, seedPassword)
	expect(t, "first step", r, 202, "")
	var body struct {
		MFARequired bool     `json:"mfa_required"`
		Methods     []string `json:"methods"`
	}
	json.Unmarshal(r.body, &body)
	if !body.MFARequired || len(body.Methods) == 0 {
		t.Fatalf("202 body %s", r.body)
	}
	return c
}

// event is a recorded audit event, as stored.
type event struct {
	Type    string
	Details map[string]any
}

// eventsOf returns the events whose target is userID, oldest first.
func (a *testApp) eventsOf(t *testing.T, userID uuid.UUID) []event {
	t.Helper()
	rows, err := a.store.DB().Query(`SELECT type, details FROM audit_events WHERE target_id = $1 ORDER BY occurred_at, id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var e event
		var details string
		if err := rows.Scan(&e.Type, &details); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(details), &e.Details)
		out = append(out, e)
	}
	return out
}

// last returns the newest event of type typ, failing when there is none.
func last(t *testing.T, events []event, typ string) event {
	t.Helper()
	for k := len(events) - 1; k >= 0; k-- {
		if events[k].Type == typ {
			return events[k]
		}
	}
	t.Fatalf("no %s event in %v", typ, events)
	return event{}
}

type auditParty struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type auditEvent struct {
	ID         string         `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Type       string         `json:"type"`
	Actor      *auditParty    `json:"actor"`
	Target     *auditParty    `json:"target"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
	RequestID  string         `json:"request_id"`
	Details    map[string]any `json:"details"`
	raw        map[string]json.RawMessage
	actorKnown bool
}

type auditPage struct {
	Events     []auditEvent
	NextCursor *string
}

func auditPageOf(t *testing.T, r response) auditPage {
	t.Helper()
	var body struct {
		Events     []json.RawMessage `json:"events"`
		NextCursor *string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Events == nil {
		t.Fatalf("audit page %s: %v", r.body, err)
	}
	p := auditPage{NextCursor: body.NextCursor}
	for _, raw := range body.Events {
		var e auditEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(raw, &e.raw)
		_, e.actorKnown = e.raw["actor"]
		p.Events = append(p.Events, e)
	}
	return p
}

// windowCount is the count of key's attempt window, -1 when there is none.
func windowCount(t testing.TB, store *sqlstore.Store, key string) int {
	t.Helper()
	n := -1
	err := store.DB().QueryRow(`SELECT attempts FROM attempt_windows WHERE key = $1`, key).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return n
}

// tokenIn finds the token of a verification link in a message's text.
var tokenIn = regexp.MustCompile(`/account/verify#token=([A-Za-z0-9_-]{43})`)

// queuedToken returns the token of the newest queued message to address.
func (a *testApp) queuedToken(t *testing.T, address string) string {
	t.Helper()
	var body string
	err := a.store.DB().QueryRow(`SELECT text_body FROM mail_outbox WHERE recipient = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, address).Scan(&body)
	if err != nil {
		t.Fatalf("no message queued to %s: %v", address, err)
	}
	m := tokenIn.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no verification link in %q", body)
	}
	return m[1]
}

// recoveryToken waits for the worker to queue a recovery message to
// address and returns its token.
func (a *testApp) recoveryToken(t *testing.T, address string, n int) string {
	t.Helper()
	for range 200 {
		var count int
		a.store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE recipient = $1 AND template = 'recovery'`, address).Scan(&count)
		if count >= n {
			var body string
			a.store.DB().QueryRow(`SELECT text_body FROM mail_outbox WHERE recipient = $1 AND template = 'recovery' ORDER BY created_at DESC, id DESC LIMIT 1`, address).Scan(&body)
			m := regexp.MustCompile(`/account/recover#token=([A-Za-z0-9_-]{43})`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no recovery link in %q", body)
			}
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %d recovery messages to %s", n, address)
	return ""
}

func (a *testApp) mailCount(t *testing.T, template string) int {
	t.Helper()
	var n int
	a.store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE template = $1`, template).Scan(&n)
	return n
}

// chromium returns the path of a Chromium-family browser, or skips the
// test loudly; under CI a missing browser fails (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found: .ci/run installs Debian's chromium")
	}
	t.Skip("SKIPPED: no Chromium on this machine (apt-get install chromium); the browser tests did not run")
	return ""
}

// browser starts headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// servePage serves the HTML page on a loopback port and returns its
// origin under host (a loopback name: "localhost" or "127.0.0.1").
func servePage(t *testing.T, host, page string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "http://" + host + ":" + port
}
