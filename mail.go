package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/onetime"
)

// mailPoll is how often each replica's delivery loop looks for due mail:
// a message waits at most this long after its transaction commits.
const mailPoll = time.Second

// mailKept is how long a finished message (sent or given up, its token
// erased) stays in the outbox, for the operators' questions, before the
// purge loop removes it.
const mailKept = 7 * 24 * time.Hour

// mailLinks is how messages link back: the configured URL templates and
// token lifetimes.
func mailLinks(cfg config.Mail) onetime.Links {
	return onetime.Links{VerificationURL: cfg.VerificationURL, VerificationTTL: cfg.VerificationTTL,
		RecoveryURL: cfg.RecoveryURL, RecoveryTTL: cfg.RecoveryTTL}
}

// newTransport returns the configured way mail leaves.
func newTransport(cfg config.Mail, log *slog.Logger) (mailer.Transport, error) {
	if cfg.Transport == "log" {
		return mailer.LogTransport{Log: log}, nil
	}
	return mailer.NewSMTPTransport(mailer.SMTP{URL: cfg.SMTPURL, TLS: cfg.SMTPTLS, Timeout: 20 * time.Second})
}

// deliverMail runs this replica's delivery loop until ctx ends, and
// exposes the outbox's backlog as a metric.
func deliverMail(ctx context.Context, store *sqlstore.Store, transport mailer.Transport, cfg config.Mail, m *metrics.Metrics, log *slog.Logger) {
	m.WatchOutbox(func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		now := time.Now()
		due, ok, err := store.OldestDueMail(ctx, now)
		if err != nil || !ok {
			return 0
		}
		return now.Sub(due).Seconds()
	})
	d := &mailer.Deliverer{Store: store, Transport: transport, From: cfg.From, MaxAttempts: cfg.MaxAttempts,
		Log: log, Observe: m.MailResult, Now: time.Now}
	d.Run(ctx, mailPoll)
}
