package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/logging"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

// serve runs the HTTP service until ctx is cancelled.
func serve(ctx context.Context, cfg config.Config, logOut io.Writer) error {
	out := logging.NewOutput(logOut, logging.FlushInterval)
	defer out.Close()
	log := logging.New(cfg.Log.Level, cfg.Log.Format, out)
	tuneGC(cfg.Password, cfg.Database.Engine(), os.Getenv, log)
	m := metrics.New()
	store, err := openMigrated(ctx, cfg, cfg.Database.MigrateOnStart, audited(log, m))
	if err != nil {
		return err
	}
	defer store.Close()
	m.WatchDB(store.DB(), store.Engine())
	transport, err := newTransport(cfg.Mail, log)
	if err != nil {
		return err
	}
	drain := &httpserver.Drain{}
	fg := httpserver.NewForeground()
	var background sync.WaitGroup
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer background.Wait()
	defer stopBackground()
	handler, err := newHandler(runner{bgCtx, &background}, cfg, log, store, m, drain, fg, time.Now)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if base, raised, ok := extraProcs(cfg.Password, os.Getenv); ok {
		log.Info("scheduler tuned: one processor more while requests contend with hashes", "gomaxprocs", base, "raised", raised)
		background.Go(func() { followForeground(bgCtx, fg, base, raised, procsSample, runtime.GOMAXPROCS, log) })
	}
	background.Go(func() {
		purge(bgCtx, store, m, log, purgeRetention(cfg), time.Minute)
	})
	background.Go(func() { deliverMail(bgCtx, store, transport, cfg.Mail, m, log) })
	background.Go(func() { deliverWebhooks(bgCtx, cfg, store, m, log) })
	if cfg.Metrics.Enabled && cfg.Metrics.Address != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Address)
		if err != nil {
			ln.Close()
			stopBackground()
			background.Wait()
			return fmt.Errorf("metrics listen: %w", err)
		}
		log.Info("serving metrics", "address", mln.Addr().String())
		background.Go(func() {
			if err := httpserver.Serve(bgCtx, mln, m.Handler(), httpserver.Shutdown{Timeout: time.Second}, log); err != nil {
				log.Error("metrics server", "error", err)
			}
		})
	}

	log.Info("serving", "address", ln.Addr().String(), "database", store.Engine(), "env", cfg.Env)
	served := make(chan struct{})
	err = httpserver.Serve(ctx, ln, handler, httpserver.Shutdown{
		Delay:   cfg.HTTP.ShutdownDelay,
		Timeout: cfg.HTTP.ShutdownTimeout,
		Drain:   drain,
		Hurry:   secondSignal(ctx, served),
	}, log)
	close(served)
	log.Info("shutdown: stopping background work")
	stopBackground()
	background.Wait()
	log.Info("stopped; closing the database pool") // the deferred Close
	return err
}

// purgeRetention is what the purge keeps: attempt windows each until its own
// end, and at least the longest configured window (how long a window
// written by a release that did not record its end lasts); audit events
// per audit.retention; finished mail mailKept; finished webhook deliveries
// webhooksKept.
func purgeRetention(cfg config.Config) sqlstore.Retention {
	return sqlstore.Retention{Attempts: max(cfg.Auth.FailureWindow, cfg.Auth.SignupWindow), Audit: cfg.Audit.Retention, Mail: mailKept,
		Webhooks: webhooksKept}
}

// secondSignal returns a channel closed when SIGINT or SIGTERM arrives
// after ctx has ended (by the first one), until done is closed.
func secondSignal(ctx context.Context, done <-chan struct{}) <-chan struct{} {
	hurry := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			close(hurry)
		case <-done:
		}
	}()
	return hurry
}

// runner starts the background work the route table needs (the recovery
// requests' worker), until its context ends, tracked so that serve waits
// for it before it closes the store.
type runner struct {
	ctx context.Context
	wg  *sync.WaitGroup
}

// Go runs f in the background.
func (r runner) Go(f func(ctx context.Context)) { r.wg.Go(func() { f(r.ctx) }) }
