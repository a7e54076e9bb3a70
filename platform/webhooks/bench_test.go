package webhooks_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/mfakeys"
	"github.com/cleanslice/cleanslice/platform/webhooks"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// BenchmarkDeliverBacklog: a backlog of 10,000 due deliveries to one
// endpoint (queued by as many events) drained by one replica's lane to a
// local receiver, on each engine: deliveries per second, and the time per
// delivery of the first and the last tenth of the backlog (a claim that
// scanned would grow with what is already done).
//
//	go test -run '^$' -bench DeliverBacklog -benchtime 1x ./platform/webhooks
func BenchmarkDeliverBacklog(b *testing.B) {
	const backlog = 10_000
	for _, engine := range dbtest.Engines {
		b.Run(engine, func(b *testing.B) {
			for range b.N {
				store := dbtest.Open(b, engine)
				var got atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got.Add(1)
					w.WriteHeader(http.StatusNoContent)
				}))
				keys := mfakeys.New("benchmark key benchmark key 32by", nil)
				ctx := context.Background()
				e := webhook.Endpoint{ID: user.NewID(), URL: srv.URL, Events: []string{"*"}, Enabled: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
				if err := store.InsertWebhookEndpoint(ctx, e, keys.SealWebhookSecret(e.ID, string(webhook.NewSecret()))); err != nil {
					b.Fatal(err)
				}
				err := store.WithinTx(ctx, func(ctx context.Context) error {
					for range backlog {
						if err := store.RecordEvent(ctx, audit.New(ctx, time.Now(), audit.LoginFailed, uuid.Nil, uuid.Nil, nil)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				// The statistics autovacuum keeps: a table filled in one
				// transaction has none until its next autoanalyze (then
				// PostgreSQL's first tenth ran about 4x slower).
				if _, err := store.DB().Exec(`ANALYZE webhook_deliveries`); err != nil {
					b.Fatal(err)
				}
				targets := webhook.Targets{AllowPrivate: true}
				d := &webhooks.Deliverer{Store: store, Secrets: keys, Client: webhooks.NewClient(targets), Targets: targets,
					Log: slog.New(slog.DiscardHandler), Now: time.Now}
				b.ResetTimer()
				start := time.Now()
				var marks []time.Duration
				sent := 0
				for sent < backlog {
					n, err := d.DeliverDue(ctx, e.ID)
					if err != nil || n == 0 {
						b.Fatalf("after %d: %d, %v", sent, n, err)
					}
					sent += n
					for len(marks) < sent*10/backlog {
						marks = append(marks, time.Since(start))
					}
				}
				total := time.Since(start)
				b.StopTimer()
				srv.Close()
				if got.Load() != backlog {
					b.Fatalf("%d received", got.Load())
				}
				first, last := marks[0], total-marks[len(marks)-2]
				b.ReportMetric(float64(backlog)/total.Seconds(), "deliveries/s")
				b.ReportMetric(float64(first.Microseconds())/(backlog/10), "us/delivery-first-tenth")
				b.ReportMetric(float64(last.Microseconds())/(backlog/10), "us/delivery-last-tenth")
			}
		})
	}
}
