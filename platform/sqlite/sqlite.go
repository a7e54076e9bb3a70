// Package sqlite connects the store to an embedded SQLite database file
// through the pure-Go modernc.org/sqlite driver (no cgo): connection
// settings, error classification and migrations.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4/database/sqlite"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cleanslice/cleanslice/db"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// Dialect is SQLite's part of the store.
var Dialect = sqlstore.Dialect{
	Name:       "sqlite",
	DriverName: "sqlite",
	IsUniqueViolation: func(err error) bool {
		c := code(err)
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	// A write waits for the lock (busy timeout) instead of failing.
	IsRetryable: func(error) bool { return false },
	IsUnavailable: func(err error) bool {
		c := code(err) & 0xff // primary result code
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	},
	// Every transaction begins IMMEDIATE (see dsn), which takes the write
	// lock up front: the rows read are as good as locked.
	ForUpdate:  "",
	SkipLocked: "",
	InSubquery: "IN (%s)",
	// Session ids as a JSON array of hex strings (SQLite has no arrays).
	IDList:   hexJSON,
	InIDList: "%s IN (SELECT unhex(value) FROM json_each($1))",
	// SQLite's joins are nested loops: a plain join probes the key.
	JoinByKey: "JOIN %[1]s %[2]s ON %[3]s",
}

// hexJSON encodes ids as a JSON array of their hex strings.
func hexJSON(ids [][]byte) any {
	b := make([]byte, 0, len(ids)*(2*32+3)+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = hex.AppendEncode(b, id)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// Options tunes the pool.
type Options struct {
	MaxOpenConns int
	// BusyTimeout bounds the wait for the write lock (default 5 s); past it
	// the write fails as unavailable.
	BusyTimeout time.Duration
	// Audited hears of every recorded event once it has committed.
	Audited func(audit.Event)
	// Unbatched runs each session lookup as a query of its own: the
	// bench's reference.
	Unbatched bool
}

// Open opens (creating it and its folder if needed) the database file at
// path with WAL journaling, a busy timeout and foreign keys on.
func Open(ctx context.Context, path string, o Options) (*sqlstore.Store, error) {
	sqlDB, err := openDB(path, o.BusyTimeout)
	if err != nil {
		return nil, err
	}
	n := max(o.MaxOpenConns, 1)
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	s := sqlstore.New(sqlDB, Dialect, sqlstore.Options{Prepare: true, Audited: o.Audited, Unbatched: o.Unbatched})
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return s, nil
}

// NewMigrator returns a migrator on its own connection to the file at path.
func NewMigrator(path string) (*sqlstore.Migrator, error) {
	sqlDB, err := openDB(path, 0)
	if err != nil {
		return nil, err
	}
	drv, err := sqlite.WithInstance(sqlDB, &sqlite.Config{})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlite %s: migrations: %w", path, err)
	}
	files, err := db.Migrations("sqlite")
	if err != nil {
		return nil, err
	}
	return sqlstore.NewMigrator(files, "sqlite", drv)
}

func openDB(path string, busyTimeout time.Duration) (*sql.DB, error) {
	if busyTimeout <= 0 {
		busyTimeout = 5 * time.Second
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create folder for %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	sqlDB, err := sql.Open("sqlite", "file:"+uriPath.Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return sqlDB, nil
}

// uriPath escapes what a file: URI would read as its query, its fragment
// or an escape: a path with ? or # in it (a test named t/sub#01, say)
// would otherwise open another, shorter path.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

func code(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}
