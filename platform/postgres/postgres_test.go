package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/shared/apperr"
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
