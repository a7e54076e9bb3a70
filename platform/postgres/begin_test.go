package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/postgres"
)

// show returns a setting's value as the connection sees it now.
func show(t *testing.T, ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, setting string) string {
	t.Helper()
	var v string
	if err := q.QueryRowContext(ctx, "SHOW "+setting).Scan(&v); err != nil {
		t.Fatalf("show %s: %v", setting, err)
	}
	return v
}

// TestTransactionsBeginWithTheirSetup: the store's transactions wait at
// most 2 s for a lock and are ended after 5 s idle, and the settings end
// with them: the connection is back to the server's defaults after
// COMMIT, after ROLLBACK, and after a failed transaction, whose COMMIT is
// refused as lib/pq refuses it after its own BEGIN.
func TestTransactionsBeginWithTheirSetup(t *testing.T) {
	store := dbtest.Open(t, "postgres")
	ctx := context.Background()
	conn, err := store.DB().Conn(ctx) // one connection throughout
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defaults := map[string]string{"lock_timeout": show(t, ctx, conn, "lock_timeout"), "idle_in_transaction_session_timeout": show(t, ctx, conn, "idle_in_transaction_session_timeout")}
	if defaults["lock_timeout"] == "2s" {
		t.Fatal("the server's default lock_timeout is already 2s: the test could not tell")
	}
	inTx := map[string]string{"lock_timeout": "2s", "idle_in_transaction_session_timeout": "5s"}
	for _, end := range []string{"commit", "rollback", "failed"} {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("%s: begin: %v", end, err)
		}
		for k, want := range inTx {
			if got := show(t, ctx, tx, k); got != want {
				t.Errorf("%s: %s in a transaction = %q, want %q", end, k, got, want)
			}
		}
		switch end {
		case "commit":
			err = tx.Commit()
		case "rollback":
			err = tx.Rollback()
		case "failed":
			if _, err := tx.ExecContext(ctx, "SELECT 1/0"); err == nil {
				t.Fatal("division by zero succeeded")
			}
			if err = tx.Commit(); !errors.Is(err, pq.ErrInFailedTransaction) {
				t.Errorf("commit of a failed transaction = %v, want pq.ErrInFailedTransaction", err)
			}
			err = nil
		}
		if err != nil {
			t.Fatalf("%s: %v", end, err)
		}
		for k, want := range defaults {
			if got := show(t, ctx, conn, k); got != want {
				t.Errorf("after %s: %s = %q, want the default %q", end, k, got, want)
			}
		}
	}
}

// TestFailedSetupLeavesNoTransaction: when the setup fails after BEGIN
// ran, the connection is not left inside the failed transaction for its
// next user.
func TestFailedSetupLeavesNoTransaction(t *testing.T) {
	db, err := postgres.OpenWithSetup(dbtest.URL(t, "postgres"), "SET LOCAL no_such_setting = 1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the next user gets the same connection
	ctx := context.Background()
	if _, err := db.BeginTx(ctx, nil); err == nil {
		t.Fatal("a transaction began with a failed setup")
	}
	// Inside the failed transaction, a statement would be refused
	// (25P02); inside an open one, its transaction would have begun before
	// the statement did.
	var alone bool
	if err := db.QueryRowContext(ctx, "SELECT now() = statement_timestamp()").Scan(&alone); err != nil {
		t.Fatalf("the next statement on the connection: %v", err)
	}
	if !alone {
		t.Fatal("the next statement ran inside an earlier transaction")
	}
}

// TestTransactionsWithOptions: a transaction with options (read-only,
// an isolation level) begins with the setup too, in the same message,
// and the default transactions after it on the same connection commit,
// on that connection. lib/pq's own BeginTx, once used there, left a watch
// that their Commit ended a second time: a panic, or the connection
// dropped.
func TestTransactionsWithOptions(t *testing.T) {
	db, err := postgres.OpenWithSetup(dbtest.URL(t, "postgres"), "SET LOCAL lock_timeout = '2s'")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var pid int
	if err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	for _, ended := range []bool{false, true} {
		earlier, cancel := context.WithCancel(ctx)
		tx, err := db.BeginTx(earlier, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			t.Fatal(err)
		}
		for setting, want := range map[string]string{"transaction_read_only": "on", "transaction_isolation": "repeatable read", "lock_timeout": "2s"} {
			if got := show(t, ctx, tx, setting); got != want {
				t.Errorf("%s = %q in a transaction with options, want %q", setting, got, want)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if ended {
			cancel()
		}
		for i := range 3 {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatalf("transaction %d after the one with options: %v", i, err)
			}
			if got := show(t, ctx, tx, "transaction_read_only"); got != "off" {
				t.Errorf("transaction %d: read only %q", i, got)
			}
			if err := tx.Commit(); err != nil {
				t.Fatalf("transaction %d after the one with options: commit: %v", i, err)
			}
			var now int
			if err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&now); err != nil {
				t.Fatal(err)
			}
			if now != pid {
				t.Fatalf("the connection was dropped after transaction %d (backend %d, then %d)", i, pid, now)
			}
		}
		cancel()
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelLinearizable}); err == nil {
		t.Error("an isolation level PostgreSQL lacks began")
	}
}

// TestCancelledBeginLeavesNoTransaction: a BEGIN whose context ends at
// any moment of its message (before, during or after the setup, which
// sleeps a little here) never leaves its connection in the pool inside a
// transaction, open or failed.
func TestCancelledBeginLeavesNoTransaction(t *testing.T) {
	db, err := postgres.OpenWithSetup(dbtest.URL(t, "postgres"), "SET LOCAL lock_timeout = '2s'; SELECT pg_sleep(0.002)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	began := 0
	for i := range 300 {
		c, cancel := context.WithTimeout(ctx, time.Duration(i%40)*100*time.Microsecond)
		if tx, err := db.BeginTx(c, nil); err == nil {
			began++
			_ = tx.Rollback()
		}
		cancel()
		var inTx bool
		if err := db.QueryRowContext(ctx, "SELECT now() <> statement_timestamp()").Scan(&inTx); err != nil {
			t.Fatalf("attempt %d: the next statement: %v", i, err)
		}
		if inTx || show(t, ctx, db, "lock_timeout") == "2s" {
			t.Fatalf("attempt %d: the connection went back to the pool inside a transaction", i)
		}
	}
	t.Logf("%d of 300 transactions began", began)
}
