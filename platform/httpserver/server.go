// Package httpserver sets up echo: middleware (request id, logging, panic
// recovery, body limit), strict JSON binding, RFC 9457 problem responses for
// every error, and a server that shuts down gracefully.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
)

// New returns an echo instance with the middleware every route gets.
// Trailing slashes are optional: /api/v1/ and /api/v1 are one route.
func New(log *slog.Logger) *echo.Echo {
	e := echo.NewWithConfig(echo.Config{
		Logger:           log,
		HTTPErrorHandler: ErrorHandler,
		Binder:           StrictJSON{},
	})
	e.Pre(trimTrailingSlash)
	e.Use(requestID, logRequests(log), recoverPanics, limitBody)
	return e
}

// Server timeouts. The write timeout bounds the slowest handler, password
// hashing under load included.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Serve serves h on ln until ctx is done, then stops accepting connections
// and lets in-flight requests finish for up to shutdownTimeout. Requests do
// not inherit ctx: a shutdown does not cancel them.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, shutdownTimeout time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("http server: in-flight requests did not finish within %s: %w", shutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}
