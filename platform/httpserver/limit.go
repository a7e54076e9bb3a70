package httpserver

import (
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Limit returns a middleware that lets at most n requests through at once.
// A request that waits longer than wait for its turn gets 503 with
// Retry-After. Put it first on routes whose work is scarce (password
// hashing), so that a flood of them queues here, bounded, instead of in the
// database pool where it would starve every other request.
func Limit(n int, wait time.Duration) echo.MiddlewareFunc {
	slots := make(chan struct{}, max(n, 1))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			select {
			case slots <- struct{}{}:
			default:
				t := time.NewTimer(wait)
				defer t.Stop()
				select {
				case slots <- struct{}{}:
				case <-t.C:
					return apperr.ErrUnavailable
				case <-c.Request().Context().Done():
					return c.Request().Context().Err()
				}
			}
			defer func() { <-slots }()
			return next(c)
		}
	}
}
