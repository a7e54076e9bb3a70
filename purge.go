package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/session"
)

// retention says how long purged rows are kept.
type retention struct {
	Attempts time.Duration // attempt windows, from their start: the longest window
	Audit    time.Duration // audit events; 0 keeps them all
	Mail     time.Duration // finished messages of the outbox
}

// purge deletes expired sessions, stale attempt windows, finished mail,
// expired one-time tokens, pending logins and WebAuthn ceremonies, and audit
// events past their retention every interval until ctx is done. A failed
// round is logged and retried at the next tick.
func purge(ctx context.Context, store *sqlstore.Store, m *metrics.Metrics, log *slog.Logger, keep retention, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		sessions, err := store.DeleteExpiredSessions(ctx, now)
		if err != nil {
			log.Warn("purge expired sessions", "error", err)
			continue
		}
		windows, err := store.DeleteStaleAttempts(ctx, now.Add(-keep.Attempts))
		if err != nil {
			log.Warn("purge stale attempt windows", "error", err)
			continue
		}
		mails, err := store.DeleteOldMail(ctx, now.Add(-keep.Mail))
		if err != nil {
			log.Warn("purge old mail", "error", err)
			continue
		}
		tokens, err := store.DeleteExpiredTokens(ctx, now)
		if err != nil {
			log.Warn("purge expired tokens", "error", err)
			continue
		}
		pending, err := store.DeleteExpiredPendingLogins(ctx, now)
		if err != nil {
			log.Warn("purge expired pending logins", "error", err)
			continue
		}
		ceremonies, err := store.DeleteExpiredCeremonies(ctx, now)
		if err != nil {
			log.Warn("purge expired webauthn ceremonies", "error", err)
			continue
		}
		m.SessionsEnded(session.EndedByExpiry, int(sessions))
		var events int64
		if keep.Audit > 0 {
			if events, err = store.DeleteOldAuditEvents(ctx, now.Add(-keep.Audit)); err != nil {
				log.Warn("purge old audit events", "error", err, "purged", events)
				continue
			}
		}
		if sessions+windows+mails+tokens+pending+ceremonies+events > 0 {
			log.Info("purged", "sessions", sessions, "attempt_windows", windows, "mail", mails, "tokens", tokens,
				"pending_logins", pending, "webauthn_ceremonies", ceremonies, "audit_events", events)
		}
	}
}
