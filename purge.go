package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
)

// purge runs the store's periodic deletes (expired sessions, stale attempt
// windows, finished mail, expired one-time tokens, pending logins,
// WebAuthn ceremonies, sign-in flows and API keys, audit events past their
// retention, finished webhook deliveries; see sqlstore.Purge) every
// interval until ctx is done. A failed round is
// logged, what it did reported, and the rest retried at the next tick.
func purge(ctx context.Context, store *sqlstore.Store, m *metrics.Metrics, log *slog.Logger, keep sqlstore.Retention, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, err := store.Purge(ctx, time.Now(), keep)
		m.SessionsEnded(session.EndedByExpiry, int(p.Sessions))
		if err != nil {
			log.Warn("purge", "error", err)
		}
		if p.Total() > 0 {
			log.Info("purged", "sessions", p.Sessions, "attempt_windows", p.AttemptWindows, "mail", p.Mail, "tokens", p.Tokens,
				"pending_logins", p.PendingLogins, "webauthn_ceremonies", p.Ceremonies, "oauth_flows", p.Flows, "audit_events", p.AuditEvents, "api_keys", p.APIKeys,
				"webhook_deliveries", p.Webhooks)
		}
	}
}
