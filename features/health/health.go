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
	timeout time.Duration
}

// New returns a checker that gives the database timeout to answer.
func New(db Pinger, timeout time.Duration) *Checker {
	return &Checker{db: db, timeout: timeout}
}

// Ready returns nil when the database answers within the timeout, else an
// unavailable error: the instance should get no traffic until it does.
func (c *Checker) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.db.Ping(ctx); err != nil {
		return fmt.Errorf("readiness: database: %w: %w", apperr.ErrUnavailable, err)
	}
	return nil
}
