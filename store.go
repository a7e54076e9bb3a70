package main

import (
	"context"
	"log/slog"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/postgres"
	"github.com/cleanslice/cleanslice/platform/sqlite"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// openStore opens the configured database. audited, when not nil, hears of
// every audit event once it has committed.
func openStore(ctx context.Context, cfg config.Database, audited func(audit.Event)) (*sqlstore.Store, error) {
	if cfg.Engine() == "sqlite" {
		return sqlite.Open(ctx, cfg.SQLitePath(), sqlite.Options{MaxOpenConns: cfg.MaxOpenConns, BusyTimeout: cfg.ResponseTimeout, Audited: audited})
	}
	return postgres.Open(ctx, cfg.URL, postgres.Options{MaxOpenConns: cfg.MaxOpenConns, NoPrepare: !cfg.PreparedStatements, ResponseTimeout: cfg.ResponseTimeout, Audited: audited})
}

// audited returns what hears of each committed audit event: one log line
// (msg=audit) for the operators' log store, and the metrics (m may be nil:
// the CLI has none).
func audited(log *slog.Logger, m *metrics.Metrics) func(audit.Event) {
	return func(e audit.Event) {
		if m != nil {
			m.Audited(e)
		}
		log.LogAttrs(context.Background(), slog.LevelInfo, "audit",
			slog.String("type", string(e.Type)),
			slog.String("event_id", e.ID.String()),
			slog.String("actor_id", partyID(e.Actor)),
			slog.String("target_id", partyID(e.Target)),
			slog.String("ip", e.IP),
			slog.String("request_id", e.RequestID),
			slog.Any("details", e.Details))
	}
}

// partyID is an event party's id in a log line: empty for nobody.
func partyID(p audit.Party) string {
	if p.ID.IsNil() {
		return ""
	}
	return p.ID.String()
}

func newMigrator(cfg config.Database) (*sqlstore.Migrator, error) {
	if cfg.Engine() == "sqlite" {
		return sqlite.NewMigrator(cfg.SQLitePath())
	}
	return postgres.NewMigrator(cfg.URL)
}

// openMigrated applies pending migrations first when migrate is true, then
// opens the store, and refuses when stored second factors need an mfa key
// that is not configured (checkMFAKeys).
func openMigrated(ctx context.Context, cfg config.Config, migrate bool, audited func(audit.Event)) (*sqlstore.Store, error) {
	if migrate {
		m, err := newMigrator(cfg.Database)
		if err != nil {
			return nil, err
		}
		err = m.Up()
		m.Close()
		if err != nil {
			return nil, err
		}
	}
	store, err := openStore(ctx, cfg.Database, audited)
	if err != nil {
		return nil, err
	}
	if err := checkMFAKeys(ctx, store, mfaKeys(cfg.MFA)); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}
