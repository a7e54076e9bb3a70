// Package sqlstore is the database store behind every feature port. Both
// engines run the same SQL (positional $N parameters work on PostgreSQL and
// on SQLite); what differs between them (driver, error codes, row locking,
// migrations) is supplied by platform/postgres and platform/sqlite through a
// Dialect. The package's own tests are the contract suite that holds both
// engines to the same behaviour: each test runs its body once per engine
// (forEachEngine in store_test.go) on a fresh, migrated database from
// platform/dbtest.
//
// The queries of each table live in a file named for it, and no other file
// writes that table: users.go, sessions.go (with batch.go, which shares
// concurrent session lookups), attempts.go (attempt_windows), audit.go
// (audit_events), mail.go (mail_outbox), tokens.go (one_time_tokens),
// mfa.go (mfa_totp, mfa_recovery_codes), pendinglogins.go and webauthn.go
// (webauthn_users, webauthn_credentials, webauthn_challenges), apikeys.go
// (api_keys), identities.go (identities, oauth_flows). purge.go
// runs the periodic deletes of them all; store.go holds the Store,
// WithinTx, the error translation and the plumbing the others share.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/jmoiron/sqlx"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// Dialect is what one database engine contributes.
type Dialect struct {
	// Name is the engine: "postgres" or "sqlite".
	Name string
	// DriverName is the database/sql driver name, for sqlx.
	DriverName string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(err error) bool
	// IsUnavailable reports whether err means the database cannot serve now
	// (connection refused or lost, server shutting down, lock wait exhausted).
	IsUnavailable func(err error) bool
	// IsRetryable reports whether err aborted a transaction that may simply
	// run again and succeed: a serialization failure or a deadlock.
	IsRetryable func(err error) bool
	// ForUpdate locks the rows a SELECT reads until the transaction ends
	// (" FOR UPDATE" on PostgreSQL; empty on SQLite, whose write
	// transactions take the database lock when they begin).
	ForUpdate string
	// SkipLocked locks the rows a SELECT reads, passing over those another
	// transaction holds (" FOR UPDATE SKIP LOCKED" on PostgreSQL; empty on
	// SQLite, where one writer at a time claims anyway).
	SkipLocked string
	// InSubquery is how to write "x IN (subquery)" (%s is the subquery) so
	// that the engine runs the subquery once and then looks each x up by
	// index: PostgreSQL's planner may hash-join a plain IN against a scan of
	// the whole table, ANY (ARRAY(...)) it cannot.
	InSubquery string
	// WriteFirst makes one statement of a write (%[1]s: an INSERT,
	// UPDATE or DELETE) and a statement after it (%[2]s), both with the
	// same parameters, where the engine can: a data-modifying WITH on
	// PostgreSQL, one round trip where two statements were two. Empty on
	// SQLite, which has no writes in WITH and runs its statements
	// in-process: the store sends the two one after the other.
	WriteFirst string
	// IDList encodes byte strings as one query parameter, and InIDList
	// says "%s is one of them" of the parameter $1. With them concurrent
	// session lookups share one query (see lookups).
	IDList   func([][]byte) any
	InIDList string
	// JoinByKey joins each row to the one row of a table that a key
	// condition finds (%[1]s the table, %[2]s its alias, %[3]s the
	// condition) so that the engine probes the key's index for every row,
	// however many there are.
	JoinByKey string
}

// Store implements every feature port on one database.
type Store struct {
	db      *sqlx.DB
	d       Dialect
	prepare bool
	audited func(audit.Event)
	stmts   sync.Map // query text -> *sqlx.Stmt, prepared once per connection
	// preparing holds the queries the pool is preparing for transactions.
	preparing sync.Map
	lookups   *lookups[sessionRow, *sessionRow]
	// keyLookups are the API keys' (apiKeySQL), batched as the sessions'.
	keyLookups *lookups[apiKeyRow, *apiKeyRow]
	// sessionByID reads one session and its user (sessionSQL).
	sessionByID string
	// apiKeyByID reads one API key and its user (apiKeySQL).
	apiKeyByID string
	// recordEvent inserts an event and queues its webhook deliveries in
	// one statement (Dialect.WriteFirst); empty: two statements.
	recordEvent string
}

// Options tunes a store.
type Options struct {
	// Prepare makes each query outside a transaction a statement prepared
	// once per connection. A pooler in transaction mode (PgBouncer < 1.21)
	// cannot keep prepared statements: then queries go as single
	// round-trip unnamed statements.
	Prepare bool
	// Audited, when set, is called with every recorded event once the
	// event's transaction has committed (never for one that rolled back):
	// the log line and the metrics of the audit trail.
	Audited func(audit.Event)
	// Unbatched runs every session lookup as a query of its own, never
	// sharing one: the bench's reference.
	Unbatched bool
}

// New wraps an open database. The store owns db and closes it in Close.
func New(db *sql.DB, d Dialect, o Options) *Store {
	s := &Store{db: sqlx.NewDb(db, d.DriverName), d: d, prepare: o.Prepare, audited: o.Audited}
	s.sessionByID = sessionSQL(d, "s.id = $1")
	s.apiKeyByID = apiKeySQL(d, "k.id = $1")
	if d.WriteFirst != "" {
		s.recordEvent = fmt.Sprintf(d.WriteFirst, insertEventSQL, queueWebhooksSQL)
	}
	if d.IDList != nil && !o.Unbatched {
		s.lookups = &lookups[sessionRow, *sessionRow]{s: s, one: s.sessionByID, query: sessionSQL(d, fmt.Sprintf(d.InIDList, "s.id")), ids: d.IDList}
		s.keyLookups = &lookups[apiKeyRow, *apiKeyRow]{s: s, one: s.apiKeyByID, query: apiKeySQL(d, fmt.Sprintf(d.InIDList, "k.id")), ids: d.IDList}
	}
	return s
}

// SessionQueries reports whether s batches concurrent session lookups
// outside transactions, and if so how many queries those have taken.
func (s *Store) SessionQueries() (n int64, batched bool) {
	if s.lookups == nil {
		return 0, false
	}
	return s.lookups.queries.Load(), true
}

// Engine returns the dialect's name.
func (s *Store) Engine() string { return s.d.Name }

// DB returns the underlying pool, for statistics and tests.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Close closes the prepared statements and the pool.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool {
		_ = v.(*sqlx.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.translate("ping", s.db.PingContext(ctx))
}

type txKey struct{}

// txState is what a transaction carries in its context: the transaction,
// and the events recorded in it, announced once it commits.
type txState struct {
	tx     *sqlx.Tx
	events []audit.Event
}

// inTx returns the transaction in ctx, if there is one.
func inTx(ctx context.Context) (*txState, bool) {
	st, ok := ctx.Value(txKey{}).(*txState)
	return st, ok
}

// WithinTx runs fn in a transaction carried by the context it is given:
// every store method called with that context joins it, and so does a nested
// WithinTx. The transaction commits when fn returns nil and rolls back when
// it returns an error or panics. A transaction that the database aborted as
// a serialization failure or a deadlock (normal at SERIALIZABLE, the
// isolation of distributed PostgreSQL-compatible databases) runs again from
// the start, fn included: fn must only work through the store.
func (s *Store) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := inTx(ctx); ok {
		return fn(ctx)
	}
	return s.retry(ctx, func() error { return s.runTx(ctx, fn) })
}

// Retries of a transaction the database aborted: at most maxAttempts runs;
// the n-th wait is drawn from [0, retryBase x 2^n), at most retryCap, so
// that transactions that collided spread out (exponential back-off with
// full jitter). Many writers of one row at SERIALIZABLE need several turns.
const (
	maxAttempts = 20
	retryBase   = time.Millisecond
	retryCap    = 100 * time.Millisecond
)

// retry runs attempt until it succeeds, fails for another reason, has run
// maxAttempts times or ctx ends. Only database work that rolled back is
// retried, so nothing is done twice.
func (s *Store) retry(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if err == nil || n == maxAttempts || !s.d.IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(rand.N(min(retryBase<<n, retryCap))):
		}
	}
}

func (s *Store) runTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return s.translate("begin transaction", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback() // the error that got us here is the one worth reporting
		}
	}()
	st := &txState{tx: tx}
	if err := fn(context.WithValue(ctx, txKey{}, st)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.translate("commit", err)
	}
	committed = true
	for _, e := range st.events {
		s.announce(e)
	}
	return nil
}

// querier is what the store runs queries through.
type querier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// q returns the transaction in ctx, or else the pool. Every query the store
// runs is a constant text (or one of a few), so each is prepared once per
// connection and then only executed, unless Options.Prepare is off: the
// database parses and plans it once, not on every call. Outside a
// transaction (the hot paths: authentication, lists) a statement is a
// transaction of its own, retried like WithinTx's; inside one it runs on
// the transaction's connection (see txQuerier).
func (s *Store) q(ctx context.Context) querier {
	if st, ok := inTx(ctx); ok {
		return txQuerier{s, st.tx}
	}
	return pool{s}
}

// scanRow runs a query that returns one row and scans its columns into
// dest in order, without reflection: for the hot path. It goes the way q
// does: through prepared statements, in the transaction in ctx or on the
// pool, where it is retried like every statement.
func (s *Store) scanRow(ctx context.Context, query string, args []any, dest ...any) error {
	if st, ok := inTx(ctx); ok {
		if ps := (txQuerier{s, st.tx}).stmt(ctx, query); ps != nil {
			return ps.QueryRowContext(ctx, args...).Scan(dest...)
		}
		return st.tx.QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	return s.retry(ctx, func() error {
		if !s.prepare {
			return s.db.QueryRowContext(ctx, query, args...).Scan(dest...)
		}
		st, err := pool{s}.stmt(ctx, query)
		if err != nil {
			return err
		}
		return st.QueryRowContext(ctx, args...).Scan(dest...)
	})
}

// scanRows runs a query and scans each row, without reflection, into
// what next returns (called once a row, in order): scanRow for many rows.
// Outside a transaction it is retried as scanRow is, reset first emptying
// what an earlier attempt gathered.
func (s *Store) scanRows(ctx context.Context, query string, args []any, reset func(), next func() []any) error {
	each := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(next()...); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if st, ok := inTx(ctx); ok {
		if ps := (txQuerier{s, st.tx}).stmt(ctx, query); ps != nil {
			return each(ps.QueryContext(ctx, args...))
		}
		return each(st.tx.QueryContext(ctx, query, args...))
	}
	return s.retry(ctx, func() error {
		reset()
		return each(s.queryRows(ctx, query, args...))
	})
}

// txQuerier runs queries in a transaction: through the query's prepared
// statement, bound to the transaction's connection (prepared there the
// first time that connection runs it), once the pool has prepared it.
// Until then the query runs as it is, and the pool prepares it meanwhile
// on a connection of its own: preparing it here and now would need a
// second connection while the transaction holds one, and with every
// connection in a transaction that would wait for ever.
type txQuerier struct {
	s  *Store
	tx *sqlx.Tx
}

// stmt returns query's statement bound to the transaction, or nil while
// the pool has not prepared it (or Options.Prepare is off).
func (q txQuerier) stmt(ctx context.Context, query string) *sqlx.Stmt {
	if !q.s.prepare {
		return nil
	}
	if v, ok := q.s.stmts.Load(query); ok {
		return q.tx.StmtxContext(ctx, v.(*sqlx.Stmt))
	}
	if _, busy := q.s.preparing.LoadOrStore(query, true); !busy {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := (pool{q.s}).stmt(ctx, query); err != nil {
				// Runs as it is for a minute, then is tried again.
				time.AfterFunc(time.Minute, func() { q.s.preparing.Delete(query) })
				return
			}
			q.s.preparing.Delete(query)
		}()
	}
	return nil
}

func (q txQuerier) on(ctx context.Context, query string) querier {
	if st := q.stmt(ctx, query); st != nil {
		return stmtQuerier{st}
	}
	return q.tx
}

func (q txQuerier) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return q.on(ctx, query).GetContext(ctx, dest, query, args...)
}

func (q txQuerier) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return q.on(ctx, query).SelectContext(ctx, dest, query, args...)
}

func (q txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.on(ctx, query).ExecContext(ctx, query, args...)
}

type pool struct{ s *Store }

// on returns what runs query: its prepared statement, or the pool itself.
func (p pool) on(ctx context.Context, query string) (querier, error) {
	if !p.s.prepare {
		return p.s.db, nil
	}
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmtQuerier{st}, nil
}

func (p pool) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if v, ok := p.s.stmts.Load(query); ok {
		return v.(*sqlx.Stmt), nil
	}
	st, err := p.s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := p.s.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close() // another caller prepared it first
		return v.(*sqlx.Stmt), nil
	}
	return st, nil
}

func (p pool) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return p.s.retry(ctx, func() error {
		q, err := p.on(ctx, query)
		if err != nil {
			return err
		}
		return q.GetContext(ctx, dest, query, args...)
	})
}

func (p pool) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return p.s.retry(ctx, func() error {
		q, err := p.on(ctx, query)
		if err != nil {
			return err
		}
		return q.SelectContext(ctx, dest, query, args...)
	})
}

func (p pool) ExecContext(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	err = p.s.retry(ctx, func() error {
		q, err := p.on(ctx, query)
		if err != nil {
			return err
		}
		res, err = q.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// stmtQuerier runs a prepared statement; the query text is its own.
type stmtQuerier struct{ st *sqlx.Stmt }

func (q stmtQuerier) GetContext(ctx context.Context, dest any, _ string, args ...any) error {
	return q.st.GetContext(ctx, dest, args...)
}

func (q stmtQuerier) SelectContext(ctx context.Context, dest any, _ string, args ...any) error {
	return q.st.SelectContext(ctx, dest, args...)
}

func (q stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return q.st.ExecContext(ctx, args...)
}

// errUnique marks a unique violation; methods turn it into their domain error.
var errUnique = errors.New("unique violation")

// translate maps a driver error to what the layers above understand:
// sql.ErrNoRows stays, a unique violation becomes errUnique and a fault that
// a retry may cure wraps apperr.ErrUnavailable. op names the operation.
func (s *Store) translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return err
	case s.d.IsUniqueViolation(err):
		return fmt.Errorf("%s: %w: %w", op, errUnique, err)
	case s.d.IsUnavailable(err), s.d.IsRetryable(err), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %w", op, apperr.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// execCount runs a statement that changes rows (in the transaction in ctx,
// or on the pool) and returns how many it changed; op names it in errors.
func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := s.q(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return 0, s.translate(op, err)
	}
	n, err := res.RowsAffected()
	return n, s.translate(op, err)
}

// timeLayout is the one text form of timestamps: UTC, fixed width, so that on
// SQLite (which stores text) text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ts encodes t for a query parameter. Both engines accept this text.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// dbTime scans a timestamp from either engine: PostgreSQL returns
// time.Time, SQLite returns the text written by ts.
type dbTime struct{ time.Time }

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil: // a nullable column: never
		t.Time = time.Time{}
		return nil
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("cannot scan %T into a timestamp", src)
}

func (t *dbTime) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("bad timestamp %q: %w", s, err)
	}
	t.Time = v.UTC()
	return nil
}

// nullString stores "" as NULL: no value.
func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nullTime stores the zero time as NULL: never.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// nullID stores Nil as NULL: nobody, or a session from before public ids.
func nullID(id uuid.UUID) any {
	if id.IsNil() {
		return nil
	}
	return id
}
