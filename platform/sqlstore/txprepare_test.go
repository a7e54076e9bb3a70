package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
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

// TestPagesArePlannedOnce: the statements of a page of users (the first,
// and after a key) are planned once and then run on their generic plan.
// With the LIMIT a parameter, PostgreSQL planned them on every run: its
// generic plan reckoned with a tenth of the table.
func TestPagesArePlannedOnce(t *testing.T) {
	s, err := postgres.Open(context.Background(), dbtest.URL(t, "postgres"), postgres.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var last user.User
	for _, name := range []string{"alice", "bob", "carol"} {
		last = insertUser(t, s, name)
	}
	key := user.KeyOf(last, user.SortUpdatedAt)
	const runs = 20
	for range runs {
		for _, p := range []user.Page{{Sort: user.SortUpdatedAt, Descending: true, Limit: 21}, {Sort: user.SortUpdatedAt, Descending: true, Limit: 21, After: &key}} {
			if _, _, err := s.ListUsers(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		plans, err := sqlstore.PreparedPlans(ctx, "SELECT (SELECT n FROM user_count)%")
		if err != nil {
			return err
		}
		if len(plans) != 2 {
			t.Fatalf("%d page statements prepared, want 2 (the first page, after a key): %v", len(plans), plans)
		}
		for _, p := range plans {
			if p.Custom > 5 || p.Generic+p.Custom != runs {
				t.Errorf("a page statement run %d times on its generic plan and planned anew %d times, want at most the first 5 planned: %s", p.Generic, p.Custom, p.SQL)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
