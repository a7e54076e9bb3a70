package metrics

import "github.com/prometheus/client_golang/prometheus"

// WatchWebhooks adds the webhook deliveries' metrics: the attempts by
// result, counted through the returned function (delivered, retried,
// given_up, released), and the age of the longest-waiting due delivery,
// read by oldestDue (0 when none is due) at each scrape.
func (m *Metrics) WatchWebhooks(oldestDue func() float64) func(result string) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cleanslice_webhook_deliveries_total",
		Help: "Webhook delivery attempts by result (delivered, retried, given_up, released: interrupted by shutdown).",
	}, []string{"result"})
	for _, r := range []string{"delivered", "retried", "given_up", "released"} {
		attempts.WithLabelValues(r)
	}
	m.registry.MustRegister(attempts, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cleanslice_webhook_oldest_due_seconds",
		Help: "How long the longest-waiting due webhook delivery of an enabled endpoint has been due (0: none).",
	}, oldestDue))
	return func(result string) { attempts.WithLabelValues(result).Inc() }
}
