package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/platform/webhooks"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// webhookPoll is how often each replica's delivery loop looks for
// endpoints with due deliveries: an event waits at most this long after
// its transaction commits.
const webhookPoll = time.Second

// webhooksKept is how long a finished webhook delivery (delivered or
// given up) stays listed under its endpoint, for the super admins'
// questions, before the purge loop removes it.
const webhooksKept = 30 * 24 * time.Hour

// webhookTargets is where deliveries may go: https only in production,
// internal addresses only when webhooks.allow_private_targets says so.
func webhookTargets(cfg config.Config) webhook.Targets {
	return webhook.Targets{HTTPSOnly: cfg.Production(), AllowPrivate: cfg.Webhooks.AllowPrivateTargets}
}

// newWebhookDeliverer returns this replica's webhook delivery loop;
// observe, when set, counts each attempt's result.
func newWebhookDeliverer(cfg config.Config, store *sqlstore.Store, keys *mfakeys.Keys, log *slog.Logger, observe func(string), now func() time.Time) *webhooks.Deliverer {
	targets := webhookTargets(cfg)
	return &webhooks.Deliverer{Store: store, Secrets: keys, Client: webhooks.NewClient(targets), Targets: targets,
		Log: log, Observe: observe, Now: now}
}

// deliverWebhooks runs this replica's webhook delivery loop until ctx
// ends, and exposes its results and backlog as metrics.
func deliverWebhooks(ctx context.Context, cfg config.Config, store *sqlstore.Store, m *metrics.Metrics, log *slog.Logger) {
	observe := m.WatchWebhooks(func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		now := time.Now()
		due, ok, err := store.OldestDueWebhook(ctx, now)
		if err != nil || !ok {
			return 0
		}
		return now.Sub(due).Seconds()
	})
	newWebhookDeliverer(cfg, store, mfaKeys(cfg.MFA), log, observe, time.Now).Run(ctx, webhookPoll)
}
