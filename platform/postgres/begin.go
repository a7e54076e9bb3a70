package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// txSetup runs first in every transaction of the store: a transaction
// waits at most 2 s for a row lock, then fails as unavailable (503,
// retry); one whose client went silent while it held locks is ended by
// the server after 5 s idle, releasing them. SET LOCAL scopes both to the
// transaction, which PgBouncer's transaction mode allows (a session's SET
// would leak to the pooler's other clients, and a startup option is
// refused by it).
const txSetup = `SET LOCAL lock_timeout = '2s'; SET LOCAL idle_in_transaction_session_timeout = '5s'`

// pqConn is what database/sql uses of a lib/pq connection: every optional
// interface it implements, so that the wrapper below hides none of them.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// setupConnector connects as lib/pq does, with connections whose
// transactions begin with setup in the same message as BEGIN: one round
// trip where BEGIN and then the setup were two (a login's transaction is
// a handful of statements; every transaction paid one more).
type setupConnector struct {
	driver.Connector
	setup string
}

func (c setupConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := cn.(pqConn)
	if !ok {
		cn.Close()
		return nil, fmt.Errorf("postgres: lib/pq's connection lacks an interface database/sql uses (%T)", cn)
	}
	return setupConn{pqConn: pc, setup: c.setup}, nil
}

// setupConn is a lib/pq connection whose transactions send BEGIN, with
// its options, and the setup as one simple query. lib/pq follows the
// server's transaction status from every answer, so its own Commit and
// Rollback (the connection is its own driver.Tx) then work as after its
// BEGIN: COMMIT of a failed transaction is refused (ErrInFailedTransaction),
// an unexpected answer marks the connection bad.
//
// Every transaction begins here, never through lib/pq's BeginTx: that one
// also leaves a watch of its context for Commit and Rollback to end, which
// a transaction begun here would end a second time (lib/pq panics on
// that). Two of lib/pq's checks are not made: that the connection is not
// already in a transaction (the store never sends a bare BEGIN), and the
// cancelling of a COMMIT when the context ends (a COMMIT is bounded by
// database.response_timeout's watchdog instead).
type setupConn struct {
	pqConn
	setup string
}

func (c setupConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	mode, err := beginMode(opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, "BEGIN"+mode+"; "+c.setup, nil); err != nil {
		// BEGIN may have run and the setup not (cancelled in between):
		// the connection must not go back to the pool inside a
		// transaction. ROLLBACK outside one is only a warning.
		if _, rerr := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil); rerr != nil {
			return nil, errors.Join(err, driver.ErrBadConn)
		}
		return nil, err
	}
	tx, ok := c.pqConn.(driver.Tx)
	if !ok {
		return nil, errors.Join(errors.New("postgres: lib/pq's connection is not its own transaction"), driver.ErrBadConn)
	}
	return tx, nil
}

// beginMode is what BEGIN says of opts, as lib/pq writes it.
func beginMode(opts driver.TxOptions) (string, error) {
	var mode string
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		mode = " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		mode = " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead:
		mode = " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		mode = " ISOLATION LEVEL SERIALIZABLE"
	default:
		return "", fmt.Errorf("postgres: isolation level not supported: %d", opts.Isolation)
	}
	if opts.ReadOnly {
		mode += " READ ONLY"
	}
	return mode, nil
}
