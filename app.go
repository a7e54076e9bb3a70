package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/health"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

// serve runs the HTTP service until ctx is cancelled.
func serve(ctx context.Context, cfg config.Config, logOut io.Writer) error {
	log := newLogger(cfg.Log, logOut)
	if cfg.Database.MigrateOnStart {
		if err := migrateUp(cfg.Database); err != nil {
			return err
		}
	}
	store, err := openStore(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "address", ln.Addr().String(), "database", store.Engine(), "env", cfg.Env)
	err = httpserver.Serve(ctx, ln, routes(log, store), cfg.HTTP.ShutdownTimeout, log)
	log.Info("stopped")
	return err
}

// routes wires every slice to its adapters and returns the whole route
// table. This is the one place that sees every package.
func routes(log *slog.Logger, store *sqlstore.Store) http.Handler {
	healthH := health.NewHandler(health.New(store, time.Second))

	e := httpserver.New(log)
	e.GET("/", func(c *echo.Context) error { return c.Redirect(http.StatusTemporaryRedirect, "/docs") })
	e.GET("/docs", docsPlaceholder)
	e.GET("/livez", healthH.Live)
	e.GET("/readyz", healthH.Ready)

	api := e.Group("/api/v1")
	api.GET("", healthH.Status)
	return e
}

func docsPlaceholder(c *echo.Context) error {
	return c.HTML(http.StatusOK, `<!doctype html><title>cleanslice API</title><h1>cleanslice API</h1><p>The API is served under <code>/api/v1/</code>.</p>`)
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openStore(ctx context.Context, cfg config.Database) (*sqlstore.Store, error) {
	if cfg.Engine() == "sqlite" {
		return sqlite.Open(ctx, cfg.SQLitePath(), sqlite.Options{MaxOpenConns: cfg.MaxOpenConns})
	}
	return postgres.Open(ctx, cfg.URL, postgres.Options{MaxOpenConns: cfg.MaxOpenConns})
}

func newMigrator(cfg config.Database) (*sqlstore.Migrator, error) {
	if cfg.Engine() == "sqlite" {
		return sqlite.NewMigrator(cfg.SQLitePath())
	}
	return postgres.NewMigrator(cfg.URL)
}

func migrateUp(cfg config.Database) error {
	m, err := newMigrator(cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}
