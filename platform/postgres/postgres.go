// Package postgres connects the store to PostgreSQL through sqlx and lib/pq:
// connection settings, error classification and migrations.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/golang-migrate/migrate/v4/database/postgres"
	"github.com/lib/pq"

	"github.com/cleanslice/cleanslice/db"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// Dialect is PostgreSQL's part of the store.
var Dialect = sqlstore.Dialect{
	Name:              "postgres",
	DriverName:        "postgres",
	IsUniqueViolation: func(err error) bool { return sqlState(err) == "23505" },
	IsUnavailable:     isUnavailable,
	IsRetryable: func(err error) bool {
		c := sqlState(err)
		return c == "40001" || c == "40P01" // serialization failure, deadlock
	},
	ForUpdate:  " FOR UPDATE",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	InSubquery: "= ANY (ARRAY(%s))",
	IDList:     func(b [][]byte) any { return pq.ByteaArray(b) },
	InIDList:   "%s = ANY ($1)",
	// LIMIT 1 (the key finds one row at most anyway) keeps the planner
	// from flattening the subquery into a join it may plan as a merge
	// join over the whole key index.
	JoinByKey:  "CROSS JOIN LATERAL (SELECT * FROM %[1]s %[2]s WHERE %[3]s LIMIT 1) %[2]s",
	WriteFirst: "WITH first AS (%[1]s) %[2]s",
}

// Options tunes the pool.
type Options struct {
	MaxOpenConns int
	// NoPrepare sends every query as a single round-trip unnamed statement
	// instead of preparing it once per connection: for PgBouncer in
	// transaction mode.
	NoPrepare bool
	// ResponseTimeout bounds how long a connection waits for the server to
	// start answering what it sent (0: no bound). Past it the connection is
	// dropped and the query fails as unavailable: a silent link (partition,
	// frozen host) ends there instead of when TCP gives up, hours later.
	ResponseTimeout time.Duration
	// Audited hears of every recorded event once it has committed.
	Audited func(audit.Event)
	// Unbatched runs each session lookup as a query of its own: the
	// bench's reference.
	Unbatched bool
}

// Open connects to the database at dsn (a postgres:// URL), checks that it
// answers and returns the store. A connect timeout of 5 s is added unless the
// URL sets one, so a database that does not answer fails fast.
func Open(ctx context.Context, dsn string, o Options) (*sqlstore.Store, error) {
	sqlDB, err := openDB(dsn, o.ResponseTimeout, txSetup)
	if err != nil {
		return nil, err
	}
	n := max(o.MaxOpenConns, 1)
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	s := sqlstore.New(sqlDB, Dialect, sqlstore.Options{Prepare: !o.NoPrepare, Audited: o.Audited, Unbatched: o.Unbatched})
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// NewMigrator returns a migrator on its own connection to dsn.
func NewMigrator(dsn string) (*sqlstore.Migrator, error) {
	// A migration may rightly run for minutes, and wait for locks.
	sqlDB, err := openDB(dsn, 0, "")
	if err != nil {
		return nil, err
	}
	drv, err := postgres.WithInstance(sqlDB, &postgres.Config{})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	files, err := db.Migrations("postgres")
	if err != nil {
		return nil, err
	}
	return sqlstore.NewMigrator(files, "postgres", drv)
}

// openDB opens a pool on dsn whose transactions begin with setup (none
// when empty; see setupConnector).
func openDB(dsn string, responseTimeout time.Duration, setup string) (*sql.DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad url: %w", err)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
	}
	if q.Get("binary_parameters") == "" {
		// One round trip per parameterized query instead of two.
		q.Set("binary_parameters", "yes")
	}
	u.RawQuery = q.Encode()
	connector, err := pq.NewConnector(u.String())
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if responseTimeout > 0 {
		connector.Dialer(watchdogDialer{timeout: responseTimeout})
	}
	if setup != "" {
		return sql.OpenDB(setupConnector{Connector: connector, setup: setup}), nil
	}
	return sql.OpenDB(connector), nil
}

// watchdogDialer dials connections that give up on a silent server.
type watchdogDialer struct {
	net.Dialer
	timeout time.Duration
}

func (d watchdogDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d watchdogDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d watchdogDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &watchdogConn{Conn: c, timeout: d.timeout}, nil
}

// watchdogConn expects an answer within timeout of every write, and more
// of it within timeout of every read. The protocol only reads after it has
// written (a query, a sync, a startup message), and an idle connection
// reads nothing, so the deadline can only fire on a server that went
// silent mid-exchange. lib/pq then marks the connection bad, and
// database/sql discards it instead of returning it to the pool.
//
// The socket's deadline moves only once it has fallen an eighth of timeout
// behind, not on every read and write (a timer update each, 0.9 % of GET
// /auth/me's CPU): the server gets between 7/8 of timeout and timeout,
// never more, so the bound under http.request_timeout holds.
// lib/pq uses a connection from one goroutine at a time.
type watchdogConn struct {
	net.Conn
	timeout  time.Duration
	deadline time.Time // the socket's read and write deadline
}

func (c *watchdogConn) Write(b []byte) (int, error) {
	if err := c.arm(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *watchdogConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		_ = c.arm()
	}
	return n, err
}

// SetDeadline is lib/pq's (its connect timeout, cleared after start-up):
// the next read or write arms the watchdog again.
func (c *watchdogConn) SetDeadline(t time.Time) error {
	c.deadline = time.Time{}
	return c.Conn.SetDeadline(t)
}

// arm makes the deadline at least 7/8 of timeout and at most timeout away.
func (c *watchdogConn) arm() error {
	now := time.Now()
	if c.deadline.Sub(now) >= c.timeout-c.timeout/8 {
		return nil
	}
	c.deadline = now.Add(c.timeout)
	return c.Conn.SetDeadline(c.deadline)
}

func sqlState(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}

func isUnavailable(err error) bool {
	switch code := sqlState(err); {
	case code == "":
	case code[:2] == "08", // connection exception
		code == "55P03",                                   // lock_not_available: lock_timeout passed
		code == "25P03",                                   // idle_in_transaction_session_timeout ended the transaction
		code == "57014",                                   // query_canceled: the request's deadline (or statement_timeout) cancelled it
		code[:2] == "53",                                  // insufficient resources, too many connections
		code == "57P01", code == "57P02", code == "57P03": // shutting down, crashed, starting up
		return true
	default:
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
