package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
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
)

// service is the cleanslice binary running as a child process on a fresh
// PostgreSQL database.
type service struct {
	base    string
	dbURL   string
	cmd     *exec.Cmd
	bin     string
	env     []string
	cleanup []func()
}

const benchPassword = "bench password 1"

// startService builds the binary, creates the database, seeds it with
// users, starts the service and waits until it is ready.
func startService(ctx context.Context, adminURL string, users int, extraEnv []string) (*service, error) {
	s := &service{}
	dir, err := os.MkdirTemp("", "cleanslice-bench")
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
	s.bin = filepath.Join(dir, "cleanslice")
	build := exec.CommandContext(ctx, "go", "build", "-o", s.bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}

	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	name := "cleanslice_bench"
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return nil, fmt.Errorf("drop bench database: %w", err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create bench database: %w", err)
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	s.dbURL = u.String()
	s.cleanup = append(s.cleanup, func() {
		if a, err := sql.Open("postgres", adminURL); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})

	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s.base = "http://" + addr
	s.env = append(os.Environ(),
		"CLEANSLICE_CONFIG="+filepath.Join(mustGetwd(), "config.toml"),
		"CLEANSLICE_DATABASE_URL="+s.dbURL,
		"CLEANSLICE_HTTP_ADDRESS="+addr,
	)
	s.env = append(s.env, extraEnv...)

	for _, acct := range [][2]string{{"bench.super", "super_admin"}, {"bench.admin", "admin"}, {"bench.user", "user"}} {
		cmd := exec.CommandContext(ctx, s.bin, "users", "create", "--username", acct[0], "--role", acct[1])
		cmd.Env = s.env
		cmd.Stdin = strings.NewReader(benchPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("users create %s: %w\n%s", acct[0], err, out)
		}
	}
	start := time.Now()
	if err := seed(ctx, s.dbURL, users-3); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: seeded %d users and their sessions in %s\n", users-3, time.Since(start).Round(time.Second))

	s.cmd = exec.Command(s.bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = nil, nil // request logs are written and discarded, as a real sink would
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_ = s.cmd.Wait()
	})
	for range 200 {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("service did not become ready")
}

// seed adds n users with bench.user's password hash, ages and roles varied,
// and one live session for each.
func seed(ctx context.Context, dbURL string, n int) error {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `
		INSERT INTO users (id, username, password_hash, role, is_active, created_at, updated_at)
		SELECT gen_random_uuid(), 'seed' || g, u.password_hash, CASE WHEN g % 10 = 0 THEN 'admin' ELSE 'user' END,
		       g % 7 <> 0, now() - (g || ' minutes')::interval, now() - ((g % 500) || ' seconds')::interval
		FROM generate_series(1, $1) g, (SELECT password_hash FROM users WHERE username = 'bench.user') u`, n)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	_, err = db.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at)
		SELECT sha256(id::text::bytea), id, now(), now() + interval '1 day', now() + interval '1 day', now()
		FROM users WHERE username LIKE 'seed%'`)
	if err != nil {
		return fmt.Errorf("seed sessions: %w", err)
	}
	_, err = db.ExecContext(ctx, `ANALYZE users, sessions`)
	return err
}

func (s *service) stop() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
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
