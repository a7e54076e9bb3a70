package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
)

// TestTransactionStatementsArePrepared: a query first run in a
// transaction runs as it is while the pool prepares it on a connection of
// its own; later transactions run the prepared statement on their own
// connection. With one connection, held by the transaction, the first run
// does not wait for the preparing.
func TestTransactionStatementsArePrepared(t *testing.T) {
	s, err := postgres.Open(context.Background(), dbtest.URL(t, "postgres"), postgres.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := insertUser(t, s, "alice")
	// insert adds a session in a transaction and returns how often the
	// transaction's connection has run the prepared insert.
	insert := func() int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var runs int
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			_, id := session.NewSecret()
			if err := s.InsertSession(ctx, policy.Start(id, u.ID, t0)); err != nil {
				return err
			}
			var err error
			runs, err = sqlstore.PreparedRuns(ctx, "INSERT INTO sessions%")
			return err
		})
		if err != nil {
			t.Fatalf("insert in a transaction on the only connection: %v", err)
		}
		return runs
	}
	if s.Prepared(sqlstore.InsertSessionSQL) {
		t.Fatal("prepared before its first use")
	}
	if runs := insert(); runs != 0 { // the one connection is the transaction's: preparing waits for it
		t.Fatalf("the first insert ran a prepared statement %d times", runs)
	}
	for deadline := time.Now().Add(5 * time.Second); !s.Prepared(sqlstore.InsertSessionSQL); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the insert was never prepared")
		}
	}
	first := insert()
	if second := insert(); first < 1 || second != first+1 {
		t.Fatalf("the prepared insert ran %d, then %d times: not by the transactions", first, second)
	}
}
