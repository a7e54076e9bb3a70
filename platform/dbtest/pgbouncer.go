package dbtest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/lib/pq"
)

// The PostgreSQL variants beside "postgres" that URL also makes: the same
// database reached through PgBouncer in transaction pooling mode, and one
// whose transactions run at SERIALIZABLE by default.
const (
	PgBouncer    = "pgbouncer"
	Serializable = "serializable"
)

// ScaleOut lists every engine and variant: for the tests that must hold
// wherever the service is deployed.
var ScaleOut = []string{"postgres", "sqlite", PgBouncer, Serializable}

// serializableDB returns a fresh database whose every new connection runs
// its transactions at SERIALIZABLE.
func serializableDB(t testing.TB) string {
	t.Helper()
	u := newPostgresDB(t)
	name := dbName(u)
	if _, err := admin(t).db.Exec("ALTER DATABASE " + pq.QuoteIdentifier(name) + " SET default_transaction_isolation = 'serializable'"); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return u
}

// pgbouncerDB returns a fresh, migrated database as seen through a
// PgBouncer (Debian's package) started for the test on a loopback port in
// pool_mode = transaction, stopped when the test ends. Without the
// pgbouncer binary the test is skipped loudly, or fails under CI=true.
func pgbouncerDB(t testing.TB) string {
	t.Helper()
	direct := newPostgresDB(t)
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		msg := "\n\n*** PgBouncer TESTS NOT RUN: no pgbouncer binary (apt-get install pgbouncer) ***\n\n"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	target, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// PgBouncer refuses to run as root; files it reads must be readable by
	// the user it runs as.
	dir, err := os.MkdirTemp("", "pgbouncer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dbUser := target.User.Username()
	conf := fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 500
default_pool_size = 10
ignore_startup_parameters = extra_float_digits
`, target.Hostname(), portOr(target.Port(), "5432"), port, filepath.Join(dir, "users.txt"))
	for name, body := range map[string]string{"pgbouncer.ini": conf, "users.txt": fmt.Sprintf("%q \"\"\n", dbUser)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		runAs := "postgres"
		if _, err := user.Lookup(runAs); err != nil {
			t.Fatalf("dbtest: pgbouncer will not run as root and there is no user %s: %v", runAs, err)
		}
		args = append([]string{"-u", runAs}, args...)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbtest: start pgbouncer: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pooled := *target
	pooled.Host = fmt.Sprintf("127.0.0.1:%d", port)
	// The test's database has just been made from the template: wait until
	// the pooler answers for it.
	db, err := sql.Open("postgres", pooled.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return pooled.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: pgbouncer did not answer: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dbName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(err)
	}
	return u.Path[1:]
}

func portOr(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
