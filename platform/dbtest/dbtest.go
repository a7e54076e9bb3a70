// Package dbtest gives tests a fresh, migrated database on either engine.
//
// PostgreSQL: TEST_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres
// when that is unset. The first test of a process makes (once per migration
// set, shared across processes and runs) a migrated template database; every
// test then gets its own database cloned from it, so tests run in parallel.
// When PostgreSQL is unreachable the tests skip loudly, except under CI=true,
// where they fail.
//
// SQLite: a migrated file in the test's temporary folder.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/cleanslice/cleanslice/db"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// DefaultPostgresURL is used when TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Engines lists the engines every database test runs on.
var Engines = []string{"postgres", "sqlite"}

// URL returns the database.url of a fresh, migrated database for engine
// (one of Engines, or a variant of ScaleOut), dropped when the test ends.
func URL(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "test.db")
		migrateUp(t, func() (*sqlstore.Migrator, error) { return sqlite.NewMigrator(path) })
		return "sqlite:" + path
	case "postgres":
		return newPostgresDB(t)
	case PgBouncer:
		return pgbouncerDB(t)
	case Serializable:
		return serializableDB(t)
	}
	t.Fatalf("dbtest: unknown engine %q", engine)
	return ""
}

// EmptyURL is like URL but the database has no tables: for migration tests.
func EmptyURL(t testing.TB, engine string) string {
	t.Helper()
	if engine == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	}
	a := admin(t)
	name := "cleanslice_t_" + randomHex()
	if _, err := a.db.Exec("CREATE DATABASE " + pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	dropAtCleanup(t, a.db, name)
	return withDBName(a.base, name)
}

// Open returns a store on a fresh, migrated database, closed when the test ends.
func Open(t testing.TB, engine string) *sqlstore.Store {
	t.Helper()
	return OpenAudited(t, engine, nil)
}

// OpenAudited is Open with a hook that hears of every committed audit
// event.
func OpenAudited(t testing.TB, engine string, audited func(audit.Event)) *sqlstore.Store {
	t.Helper()
	return OpenOn(t, engine, URL(t, engine), audited)
}

// OpenOn returns another store on the database at u (from URL): a second
// replica of the same database. It is closed when the test ends.
func OpenOn(t testing.TB, engine, u string, audited func(audit.Event)) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	var (
		s   *sqlstore.Store
		err error
	)
	if engine == "sqlite" {
		s, err = sqlite.Open(ctx, u[len("sqlite:"):], sqlite.Options{MaxOpenConns: 8, Audited: audited})
	} else {
		s, err = postgres.Open(ctx, u, postgres.Options{MaxOpenConns: 8, NoPrepare: engine == PgBouncer, Audited: audited})
	}
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type adminConn struct {
	base     string
	db       *sql.DB
	template string
	err      error
}

var (
	adminOnce sync.Once
	shared    adminConn
)

// admin connects once per process to the server and makes sure the
// template exists.
func admin(t testing.TB) *adminConn {
	t.Helper()
	adminOnce.Do(func() { shared = connectAdmin() })
	if shared.err != nil {
		msg := fmt.Sprintf("\n\n*** PostgreSQL TESTS NOT RUN: %v\n*** Start PostgreSQL or set TEST_DATABASE_URL. ***\n\n", shared.err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return &shared
}

func connectAdmin() adminConn {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	conn, err := sql.Open("postgres", base)
	if err != nil {
		return adminConn{err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return adminConn{err: fmt.Errorf("%s unreachable: %w", redact(base), err)}
	}
	tpl, err := ensureTemplate(conn, base)
	if err != nil {
		conn.Close()
		return adminConn{err: err}
	}
	return adminConn{base: base, db: conn, template: tpl}
}

// ensureTemplate makes the migrated template database, named after a hash
// of the migrations so a changed schema gets a new one. An advisory lock
// keeps parallel test processes from building it twice; building under a
// temporary name and renaming makes a half-built template impossible.
func ensureTemplate(conn *sql.DB, base string) (string, error) {
	name := "cleanslice_tpl_" + migrationsHash()
	ctx := context.Background()
	c, err := conn.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock(7413520)`); err != nil {
		return "", err
	}
	defer func() { _, _ = c.ExecContext(ctx, `SELECT pg_advisory_unlock(7413520)`) }()
	var exists bool
	if err := c.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		markUsed(ctx, c, name)
		return name, nil
	}
	building := name + "_building"
	if _, err := c.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(building)); err != nil {
		return "", err
	}
	if _, err := c.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(building)); err != nil {
		return "", err
	}
	m, err := postgres.NewMigrator(withDBName(base, building))
	if err != nil {
		return "", err
	}
	err = m.Up()
	m.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := c.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(building)+" RENAME TO "+pq.QuoteIdentifier(name)); err != nil {
		return "", err
	}
	markUsed(ctx, c, name)
	dropOldTemplates(ctx, c, name)
	return name, nil
}

// markUsed records in the template's comment when a test process last
// took it (unix seconds), for dropOldTemplates.
func markUsed(ctx context.Context, c *sql.Conn, name string) {
	_, _ = c.ExecContext(ctx, "COMMENT ON DATABASE "+pq.QuoteIdentifier(name)+" IS "+pq.QuoteLiteral(fmt.Sprintf("used %d", time.Now().Unix())))
}

// templateIdle is how long a template of another migration set must have
// gone unused before it is dropped: another checkout on the same server
// (a branch with other migrations) keeps its own while it runs tests.
const templateIdle = time.Hour

// dropOldTemplates removes the templates of other migration sets that no
// test process has taken for templateIdle. One still being cloned by
// another test process is left for a later run.
func dropOldTemplates(ctx context.Context, c *sql.Conn, current string) {
	rows, err := c.QueryContext(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database
		WHERE datname LIKE 'cleanslice\_tpl\_%' AND datname <> $1`, current)
	if err != nil {
		return
	}
	var old []string
	for rows.Next() {
		var n, comment string
		if rows.Scan(&n, &comment) != nil {
			continue
		}
		var used int64
		if _, err := fmt.Sscanf(comment, "used %d", &used); err == nil && time.Since(time.Unix(used, 0)) < templateIdle {
			continue
		}
		old = append(old, n)
	}
	rows.Close()
	for _, n := range old {
		_, _ = c.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(n))
	}
}

func newPostgresDB(t testing.TB) string {
	t.Helper()
	a := admin(t)
	name := "cleanslice_t_" + randomHex()
	if _, err := a.db.Exec("CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(a.template)); err != nil {
		t.Fatalf("dbtest: clone template: %v", err)
	}
	dropAtCleanup(t, a.db, name)
	return withDBName(a.base, name)
}

// dropAtCleanup drops the database when the test ends. Registered before the
// store is opened, it runs after the store is closed.
func dropAtCleanup(t testing.TB, conn *sql.DB, name string) {
	t.Cleanup(func() {
		if _, err := conn.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
		}
	})
}

func migrateUp(t testing.TB, newMigrator func() (*sqlstore.Migrator, error)) {
	t.Helper()
	m, err := newMigrator()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
}

func migrationsHash() string {
	h := sha256.New()
	files, _ := db.Migrations("postgres")
	_ = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDBName(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable TEST_DATABASE_URL)"
	}
	return u.Redacted()
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
