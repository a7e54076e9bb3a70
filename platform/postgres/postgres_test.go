package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

func TestUnreachableServerIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens, the connection is refused.
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", postgres.Options{})
	if !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Open = %v, want an error wrapping apperr.ErrUnavailable", err)
	}
}

// TestCancelledStatementIsUnavailable: a statement that waits on a lock
// past its request's deadline is cancelled by the driver (57014,
// query_canceled): 503 with Retry-After, never a 500.
func TestCancelledStatementIsUnavailable(t *testing.T) {
	store := dbtest.Open(t, "postgres")
	ctx := context.Background()
	u := user.New("alice", "$hash", user.RoleUser, time.Now())
	if err := store.InsertUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	go store.WithinTx(ctx, func(ctx context.Context) error {
		_, err := store.UserByUsernameForUpdate(ctx, "alice")
		close(locked)
		<-release
		return err
	})
	<-locked
	defer close(release)
	waiting, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := store.WithinTx(waiting, func(ctx context.Context) error {
		_, err := store.UserByUsernameForUpdate(ctx, "alice")
		return err
	})
	if !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("a statement cancelled at the deadline: %v, want apperr.ErrUnavailable", err)
	}
}
