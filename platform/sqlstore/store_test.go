package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// The contract suite: every test runs on every engine.
func forEachEngine(t *testing.T, test func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			test(t, dbtest.Open(t, engine))
		})
	}
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC)

func newUser(name string, role user.Role) user.User {
	return user.User{ID: user.NewID(), Username: name, PasswordHash: "$argon2id$hash", Role: role, IsActive: true, CreatedAt: t0, UpdatedAt: t0}
}

func TestWithinTx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		boom := errors.New("boom")
		// An error rolls back everything, nested calls included.
		err := s.WithinTx(ctx, func(ctx context.Context) error {
			if err := s.InsertUser(ctx, newUser("dave1", user.RoleUser)); err != nil {
				return err
			}
			return s.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.InsertUser(ctx, newUser("dave2", user.RoleUser)); err != nil {
					return err
				}
				// Inside the transaction its own writes are visible.
				if _, err := s.UserByUsername(ctx, "dave1"); err != nil {
					return err
				}
				return boom
			})
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithinTx = %v, want boom", err)
		}
		for _, name := range []string{"dave1", "dave2"} {
			if _, err := s.UserByUsername(ctx, name); !errors.Is(err, user.ErrNotFound) {
				t.Errorf("%s survived a rollback: %v", name, err)
			}
		}
		// A panic rolls back too and goes on up.
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic was swallowed")
				}
			}()
			_ = s.WithinTx(ctx, func(ctx context.Context) error {
				_ = s.InsertUser(ctx, newUser("erin1", user.RoleUser))
				panic("boom")
			})
		}()
		if _, err := s.UserByUsername(ctx, "erin1"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("erin1 survived a panic: %v", err)
		}
		// Success commits.
		if err := s.WithinTx(ctx, func(ctx context.Context) error {
			return s.InsertUser(ctx, newUser("frank", user.RoleUser))
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserByUsername(ctx, "frank"); err != nil {
			t.Errorf("committed user missing: %v", err)
		}
	})
}

func TestClosedDatabaseIsUnavailableOrFails(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		s.Close()
		if err := s.Ping(context.Background()); err == nil {
			t.Fatal("ping on a closed pool succeeded")
		}
		_, err := s.UserByUsername(context.Background(), "nobody")
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindNotFound {
			t.Fatalf("closed pool reported not found: %v", err)
		}
	})
}

// TestSerializationFailuresAreRetried: at SERIALIZABLE, 20 transactions
// that read and then update one row abort each other (SQLSTATE 40001);
// WithinTx runs them again until every one commits.
func TestSerializationFailuresAreRetried(t *testing.T) {
	s := dbtest.Open(t, dbtest.Serializable)
	ctx := context.Background()
	u := insertUser(t, s, "contended")
	var runs atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- s.WithinTx(ctx, func(ctx context.Context) error {
				runs.Add(1)
				got, err := s.UserByID(ctx, u.ID)
				if err != nil {
					return err
				}
				return s.SetUserActive(ctx, u.ID, !got.IsActive, t0.Add(time.Duration(i)*time.Second))
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a transaction failed: %v", err)
		}
	}
	if runs.Load() <= 20 {
		t.Fatalf("%d runs for 20 transactions: no serialization failure was retried", runs.Load())
	}
}
