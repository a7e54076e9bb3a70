package health

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

type pingFunc func(ctx context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

type drain bool

func (d drain) Draining() bool { return bool(d) }

func TestReady(t *testing.T) {
	ok := New(pingFunc(func(context.Context) error { return nil }), drain(false), time.Second)
	if err := ok.Ready(context.Background()); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	down := New(pingFunc(func(context.Context) error { return errors.New("connection refused") }), drain(false), time.Second)
	if err := down.Ready(context.Background()); !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Ready = %v, want unavailable", err)
	}
}

func TestReadyGivesUpAfterTimeout(t *testing.T) {
	hang := New(pingFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }), drain(false), 50*time.Millisecond)
	err := hang.Ready(context.Background()) // would block forever without the timeout
	if !errors.Is(err, apperr.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ready = %v, want unavailable after the deadline", err)
	}
}

func TestNotReadyWhileDraining(t *testing.T) {
	pinged := false
	c := New(pingFunc(func(context.Context) error { pinged = true; return nil }), drain(true), time.Second)
	if err := c.Ready(context.Background()); !errors.Is(err, ErrShuttingDown) || !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Ready while draining = %v, want unavailable (shutting down)", err)
	}
	if pinged {
		t.Fatal("a draining instance asked the database")
	}
}
