package httpserver

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Limit returns a middleware that lets at most n requests through at once.
// A request that waits longer than wait for its turn gets 503 with
// Retry-After. Put it first on routes whose work is scarce (password
// hashing), so that a flood of them queues here, bounded, instead of in the
// database pool where it would starve every other request. Its requests
// leave fg (nil: none) while they run: they are the work fg's other
// requests are protected from.
func Limit(n int, wait time.Duration, fg *Foreground) echo.MiddlewareFunc {
	slots := make(chan struct{}, max(n, 1))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			fg.leave()
			defer fg.enter()
			fg.limited(1)
			defer fg.limited(-1)
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

// Foreground counts the requests in flight that are not hashing a
// password, so that the hasher can leave them a core (password.Yielder).
// Every request enters it (New's middleware, with Options.Foreground);
// Limit's routes step out of it while they wait for their turn and hash,
// and are counted apart, so that Contended can tell when both kinds are in
// flight (serve gives the scheduler a processor more then). The count is
// one atomic add a request; the lock is taken only when the count moves
// between zero and one.
type Foreground struct {
	n    atomic.Int64
	lim  atomic.Int64 // Limit's requests in flight, waiting or hashing
	mu   sync.Mutex
	idle chan struct{} // closed while n is 0
	open bool          // idle is closed
}

// NewForeground returns an idle Foreground.
func NewForeground() *Foreground {
	f := &Foreground{idle: make(chan struct{}), open: true}
	close(f.idle)
	return f
}

// Idle returns a channel closed while no foreground request is in flight.
func (f *Foreground) Idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.idle
}

// Contended reports whether a foreground request is in flight while one of
// Limit's is too (two atomic loads): the requests and the hashes compete.
func (f *Foreground) Contended() bool { return f.n.Load() > 0 && f.lim.Load() > 0 }

func (f *Foreground) limited(d int64) {
	if f != nil {
		f.lim.Add(d)
	}
}

func (f *Foreground) enter() {
	if f == nil || f.n.Add(1) != 1 {
		return
	}
	f.mu.Lock()
	if f.n.Load() > 0 && f.open {
		f.idle, f.open = make(chan struct{}), false
	}
	f.mu.Unlock()
}

func (f *Foreground) leave() {
	if f == nil || f.n.Add(-1) != 0 {
		return
	}
	f.mu.Lock()
	if f.n.Load() == 0 && !f.open {
		close(f.idle)
		f.open = true
	}
	f.mu.Unlock()
}

// countForeground makes every request a foreground one while it runs.
func countForeground(f *Foreground) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			f.enter()
			defer f.leave()
			return next(c)
		}
	}
}
