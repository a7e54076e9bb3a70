package main

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq"

	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
)

// service is a child process the bench measures: the cleanslice binary on
// a fresh database of its engine, or bench/bare (startBare; then only bin,
// base, env, cmd and cleanup are set).
type service struct {
	engine string
	base   string
	dbURL  string
	cmd    *exec.Cmd
	bin    string
	env    []string
	users  int
	// readSeeds: the readers' accounts are seed1 to seed<readSeeds>
	readSeeds int
	log       *os.File // where its output goes; nil: discarded
	cleanup   []func()
}

const benchPassword = "bench password 1"

// serviceOptions says what to start: on which engine (postgres, with
// adminURL the server's admin connection, or sqlite), with how many users,
// extra environment, and which revision (empty: the working tree; else a
// git revision, built from a temporary worktree, for a before/after
// comparison). name keeps two services' databases apart.
type serviceOptions struct {
	engine, adminURL string
	users            int
	env              []string
	rev, name        string
	log              *os.File // the service's output, if set
}

// startService builds the binary, creates the database, seeds it with
// users, starts the service and waits until it is ready.
func startService(ctx context.Context, o serviceOptions) (*service, error) {
	s := &service{engine: o.engine, users: o.users, log: o.log}
	dir, err := os.MkdirTemp("", "cleanslice-bench")
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
	s.bin = filepath.Join(dir, "cleanslice")
	src, worktree := ".", ""
	if o.rev != "" {
		src = filepath.Join(dir, "src")
		worktree = src
		wt := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", src, o.rev)
		if out, err := wt.CombinedOutput(); err != nil {
			s.stop()
			return nil, fmt.Errorf("git worktree add %s: %w\n%s", o.rev, err, out)
		}
		s.cleanup = append(s.cleanup, func() { _ = exec.Command("git", "worktree", "remove", "--force", src).Run() })
	}
	if err := build(ctx, src, ".", s.bin); err != nil {
		s.stop()
		return nil, fmt.Errorf("build %s: %w", cmp.Or(o.rev, "the working tree"), err)
	}
	if err := s.createDatabase(ctx, o, dir); err != nil {
		s.stop()
		return nil, err
	}

	addr, err := freeAddr()
	if err != nil {
		s.stop()
		return nil, err
	}
	s.base = "http://" + addr
	s.env = append(os.Environ(),
		"CLEANSLICE_CONFIG="+filepath.Join(cmp.Or(worktree, mustGetwd()), "config.toml"), // each revision its own keys
		"CLEANSLICE_DATABASE_URL="+s.dbURL,
		"CLEANSLICE_HTTP_ADDRESS="+addr,
		"CLEANSLICE_HTTP_PUBLIC_URL="+s.base, // (o): the providers' redirect URI
	)
	s.env = append(s.env, o.env...)

	for _, acct := range [][2]string{{"bench.super", "super_admin"}, {"bench.admin", "admin"}, {"bench.user", "user"}} {
		cmd := exec.CommandContext(ctx, s.bin, "users", "create", "--username", acct[0], "--role", acct[1])
		cmd.Env = s.env
		cmd.Stdin = strings.NewReader(benchPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			s.stop()
			return nil, fmt.Errorf("users create %s: %w\n%s", acct[0], err, out)
		}
	}
	start := time.Now()
	if err := s.exec(ctx, seedSQL[s.engine], o.users-3); err != nil {
		s.stop()
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: seeded %d users and their sessions on %s (%s) in %s\n", o.users-3, s.engine, cmp.Or(o.rev, "working tree"), time.Since(start).Round(time.Second))

	if err := s.start("/readyz", "serve"); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// build compiles the package pkg of the module in src into bin.
func build(ctx context.Context, src, pkg, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir, cmd.Stderr = src, os.Stderr
	return cmd.Run()
}

// start runs s.bin with args and s.env, to be stopped by s.stop, and waits
// until GET ready answers 200. Its output is discarded, as a real log
// sink would take it.
func (s *service) start(ready string, args ...string) error {
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Env = s.env
	if s.log != nil {
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.cleanup = append(s.cleanup, func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_ = s.cmd.Wait()
	})
	for range 200 {
		if resp, err := http.Get(s.base + ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not become ready", filepath.Base(s.bin))
}

// startBare builds bench/bare and starts it, in a process of its own as
// the service is: the floor references (f) and, given a database,
// (g3), the query of (b) for each of sessionIDs in turn.
func startBare(ctx context.Context, dbURL string, sessionIDs [][]byte, maxConns int) (*service, error) {
	dir, err := os.MkdirTemp("", "cleanslice-bare")
	if err != nil {
		return nil, err
	}
	s := &service{bin: filepath.Join(dir, "bare"), cleanup: []func(){func() { os.RemoveAll(dir) }}}
	if err := build(ctx, ".", "./bench/bare", s.bin); err != nil {
		s.stop()
		return nil, fmt.Errorf("build bench/bare: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		s.stop()
		return nil, err
	}
	s.base = "http://" + addr
	s.env = append(os.Environ(), "BARE_ADDRESS="+addr, "BARE_DATABASE_URL="+dbURL,
		"BARE_SESSION_IDS="+hexList(sessionIDs), "BARE_MAX_OPEN_CONNS="+strconv.Itoa(maxConns))
	if err := s.start("/"); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// createDatabase makes the service's empty database: a fresh PostgreSQL
// database, or a SQLite file in dir. The CLI's users create migrates it.
func (s *service) createDatabase(ctx context.Context, o serviceOptions, dir string) error {
	if o.engine == "sqlite" {
		s.dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
		return nil
	}
	admin, err := sql.Open("postgres", o.adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	name := "cleanslice_bench" + o.name
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop bench database: %w", err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create bench database: %w", err)
	}
	u, _ := url.Parse(o.adminURL)
	u.Path = "/" + name
	s.dbURL = u.String()
	s.cleanup = append(s.cleanup, func() {
		if a, err := sql.Open("postgres", o.adminURL); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	return nil
}

// open returns a store on the service's database, for seeding and for the
// same-driver references.
func (s *service) open(ctx context.Context, maxConns int, noPrepare, unbatched bool) (*sqlstore.Store, error) {
	if s.engine == "sqlite" {
		return sqlite.Open(ctx, strings.TrimPrefix(s.dbURL, "sqlite:"), sqlite.Options{MaxOpenConns: maxConns, Unbatched: unbatched})
	}
	return postgres.Open(ctx, s.dbURL, postgres.Options{MaxOpenConns: maxConns, NoPrepare: noPrepare, Unbatched: unbatched})
}

// exec runs statements (separated by ";\n") on the service's database,
// then ANALYZE.
func (s *service) exec(ctx context.Context, statements string, args ...any) error {
	st, err := s.open(ctx, 1, true, true)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, q := range strings.Split(statements, ";\n") {
		if strings.TrimSpace(q) == "" {
			continue
		}
		a := args
		if !strings.Contains(q, "$1") {
			a = nil
		}
		if _, err := st.DB().ExecContext(ctx, q, a...); err != nil {
			return fmt.Errorf("%.60s...: %w", strings.TrimSpace(q), err)
		}
	}
	_, err = st.DB().ExecContext(ctx, "ANALYZE")
	return err
}

// uuidSQLite makes a random UUID's text from h, 32 hex digits.
const uuidSQLite = `lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21))`

// seedSQL adds $1 users with bench.user's password hash, ages and roles
// varied, and one live session for each.
var seedSQL = map[string]string{
	"postgres": `INSERT INTO users (id, username, password_hash, role, is_active, created_at, updated_at)
		SELECT gen_random_uuid(), 'seed' || g, u.password_hash, CASE WHEN g % 10 = 0 THEN 'admin' ELSE 'user' END,
		       g % 7 <> 0, now() - (g || ' minutes')::interval, now() - ((g % 500) || ' seconds')::interval
		FROM generate_series(1, $1) g, (SELECT password_hash FROM users WHERE username = 'bench.user') u;
		INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
		SELECT sha256(id::text::bytea), id, now(), now() + interval '1 day', now() + interval '1 day', now()
		FROM users WHERE username LIKE 'seed%'`,
	"sqlite": `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $1)
		INSERT INTO users (id, username, password_hash, role, is_active, created_at, updated_at)
		SELECT ` + uuidSQLite + `, 'seed' || i, (SELECT password_hash FROM users WHERE username = 'bench.user'),
		       CASE WHEN i % 10 = 0 THEN 'admin' ELSE 'user' END, i % 7 <> 0,
		       strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-' || i || ' minutes'),
		       strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-' || (i % 500) || ' seconds')
		FROM (SELECT i, hex(randomblob(16)) AS h FROM g);
		INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
		SELECT randomblob(32), id, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '+1 day'),
		       strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '+1 day'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now')
		FROM users WHERE username LIKE 'seed%'`,
}

// stop undoes what starting s did, once.
func (s *service) stop() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
	s.cleanup = nil
}

// nextCursor returns the next_cursor of the list page at path.
func (s *service) nextCursor(c *http.Cookie, path string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	req.AddCookie(c)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var page struct {
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || page.NextCursor == nil {
		return "", fmt.Errorf("%s: status %d, no next_cursor (%w)", path, resp.StatusCode, err)
	}
	return *page.NextCursor, nil
}

// login returns the session cookie of a fresh login.
func (s *service) login(username string) (*http.Cookie, error) {
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, benchPassword)
	resp, err := http.Post(s.base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "access_token" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("login %s: status %d, no cookie", username, resp.StatusCode)
}

// readers logs n active seeded users in (seed1, seed2, ... but for the
// inactive multiples of 7) and returns their cookies and session ids.
func (s *service) readers(n int) ([]*http.Cookie, [][]byte, error) {
	cookies, ids := make([]*http.Cookie, 0, n), make([][]byte, 0, n)
	for k := 1; len(cookies) < n; k++ {
		if k%7 == 0 {
			continue
		}
		c, err := s.login(fmt.Sprintf("seed%d", k))
		if err != nil {
			return nil, nil, err
		}
		secret, err := sessionSecret(c)
		if err != nil {
			return nil, nil, err
		}
		id, err := session.IDFromSecret(secret)
		if err != nil {
			return nil, nil, err
		}
		cookies, ids = append(cookies, c), append(ids, id)
		s.readSeeds = k
	}
	return cookies, ids, nil
}

func hexList(ids [][]byte) string {
	h := make([]string, len(ids))
	for i, id := range ids {
		h[i] = hex.EncodeToString(id)
	}
	return strings.Join(h, ",")
}

// sessionSecret reads the sid claim of a session cookie's JWT.
func sessionSecret(c *http.Cookie) (string, error) {
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("cookie is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims struct{ SID string }
	if err := json.Unmarshal(b, &claims); err != nil {
		return "", err
	}
	return claims.SID, nil
}

// resetPeakRSS clears the kernel's peak-RSS mark of the service process.
func (s *service) resetPeakRSS() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

// cpuTime is the service process's user+system CPU so far (/proc stat
// fields 14 and 15, in clock ticks of 10 ms on Linux).
func (s *service) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from after it.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// peakRSSMiB reads VmHWM, the peak resident set since the last reset.
func (s *service) peakRSSMiB() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func mustGetwd() string {
	d, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return d
}
