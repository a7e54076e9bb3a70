package mailer_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/mailtest"
	"github.com/cleanslice/cleanslice/shared/mail"
)

// BenchmarkDeliverBacklog: a backlog of 10,000 due messages drained by one
// replica's delivery rounds to a local SMTP server (a connection per
// message), on each engine: messages per second, and the time per message
// of the first and the last tenth of the backlog (a claim that scanned
// would grow with what is already done).
//
//	go test -run '^$' -bench DeliverBacklog -benchtime 1x ./platform/mailer
func BenchmarkDeliverBacklog(b *testing.B) {
	const backlog = 10_000
	for _, engine := range dbtest.Engines {
		b.Run(engine, func(b *testing.B) {
			for range b.N {
				store := dbtest.Open(b, engine)
				srv := mailtest.Start(b)
				tr, err := mailer.NewSMTPTransport(mailer.SMTP{URL: srv.URL(), TLS: "none", Timeout: 5 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				tpl, _ := mailer.LoadTemplates("")
				outbox := mailer.NewOutbox(store, tpl, time.Now)
				ctx := context.Background()
				err = store.WithinTx(ctx, func(ctx context.Context) error {
					for k := range backlog {
						if err := outbox.Queue(ctx, mail.Message{Template: "verify_email", To: fmt.Sprintf("u%d@example.com", k), Fields: fields("http://x/#token=t"), Secret: true}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				d := &mailer.Deliverer{Store: store, Transport: tr, From: "no-reply@localhost", MaxAttempts: 8, Log: slog.New(slog.DiscardHandler), Now: time.Now}
				b.ResetTimer()
				start := time.Now()
				var marks []time.Duration
				sent := 0
				for sent < backlog {
					n, err := d.DeliverDue(ctx)
					if err != nil || n == 0 {
						b.Fatalf("after %d: %d, %v", sent, n, err)
					}
					sent += n
					if len(marks) < sent*10/backlog {
						marks = append(marks, time.Since(start))
					}
				}
				total := time.Since(start)
				b.StopTimer()
				if got := len(srv.Messages()); got != backlog {
					b.Fatalf("%d received", got)
				}
				first := marks[0]
				last := total - marks[len(marks)-2]
				b.ReportMetric(float64(backlog)/total.Seconds(), "msgs/s")
				b.ReportMetric(float64(first.Microseconds())/(backlog/10), "us/msg-first-tenth")
				b.ReportMetric(float64(last.Microseconds())/(backlog/10), "us/msg-last-tenth")
			}
		})
	}
}
