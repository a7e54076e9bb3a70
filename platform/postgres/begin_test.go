package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

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
	// Inside the failed transaction, a statement would be refused (25P02)
	// and lib/pq would refuse to begin another.
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the next statement on the connection: %v", err)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("the next transaction on the connection: %v", err)
	}
	_ = tx.Rollback()
}
