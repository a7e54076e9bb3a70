// Package health answers the liveness and readiness probes and the API's
// status endpoint.
package health

import (
	"context"
	"fmt"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Checker decides whether the service can serve requests.
type Checker struct {
	db      Pinger
	drain   Drain
	timeout time.Duration
}

// New returns a checker that gives the database timeout to answer.
func New(db Pinger, drain Drain, timeout time.Duration) *Checker {
	return &Checker{db: db, drain: drain, timeout: timeout}
}

// ErrShuttingDown is the readiness answer of an instance that is draining.
var ErrShuttingDown = &apperr.Error{Kind: apperr.KindUnavailable, Code: "service_unavailable",
	Message: "shutting down; send requests to another instance", RetryAfter: time.Second}

// Ready returns nil when the instance is not shutting down and the database
// answers within the timeout, else an unavailable error: the instance
// should get no traffic until it does.
func (c *Checker) Ready(ctx context.Context) error {
	if c.drain.Draining() {
		return ErrShuttingDown
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.db.Ping(ctx); err != nil {
		return fmt.Errorf("readiness: database: %w: %w", apperr.ErrUnavailable, err)
	}
	return nil
}
