// Package metrics exposes Prometheus metrics: HTTP requests by route,
// method and status; the password-hash pool; the database pool; logins by
// outcome; sessions ended by reason; audit events by type; outgoing mail;
// and the Go runtime and process.
//
// Metrics never tell one address from another: what only a recovery
// request for a known, verified address causes (its recovery.requested
// event, its message) is not counted, so a scrape after a request for any
// address reads the same. The audit trail and the log have them.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Metrics holds the service's collectors on its own registry.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	hashBusy prometheus.Gauge
	hashWait prometheus.Histogram
	logins   *prometheus.CounterVec
	ended    *prometheus.CounterVec
	audited  *prometheus.CounterVec
	mail     *prometheus.CounterVec
	oauth    *prometheus.CounterVec
	series   sync.Map // requestKey -> requestSeries
}

// New returns the metrics, registered on a fresh registry.
func New() *Metrics {
	labels := []string{"route", "method", "status"}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cleanslice_http_requests_total", Help: "HTTP requests served, by route, method and status.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cleanslice_http_request_duration_seconds", Help: "HTTP request latency, by route, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, labels),
		hashBusy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cleanslice_password_hashes_in_progress", Help: "Password hashes or verifications running now.",
		}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cleanslice_password_hash_wait_seconds", Help: "Time spent waiting for a hashing slot.",
			Buckets: []float64{.0001, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2},
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cleanslice_logins_total", Help: "Login attempts by outcome.",
		}, []string{"outcome"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cleanslice_sessions_ended_total", Help: "Sessions ended, by reason (logout, self, others, admin, password, inactivation, limit, expiry).",
		}, []string{"reason"}),
		audited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cleanslice_audit_events_total", Help: "Audit events recorded (committed), by type (recovery.requested not counted).",
		}, []string{"type"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cleanslice_mail_messages_total", Help: "Outgoing mail delivery attempts by template and result (sent, retried, failed); recovery messages not counted.",
		}, []string{"template", "result"}),
		oauth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cleanslice_oauth_signins_total", //nolint:misspell // "sign-ins", the name SPEC 4d gives
			Help: "Sign-ins with identity providers (callbacks, and starts the provider failed), by configured provider and result (signed_in, signed_up, linked, identity_linked, mfa_required, or the refusal's code).",
		}, []string{"provider", "result"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.hashBusy, m.hashWait, m.logins, m.ended, m.audited, m.mail, m.oauth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchDB adds the database pool's statistics.
func (m *Metrics) WatchDB(db *sql.DB, engine string) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, engine))
}

// MailResult counts one delivery attempt's result, but for a recovery
// message: one is sent only to a known address.
func (m *Metrics) MailResult(template, result string) {
	if template == string(onetime.Recovery) {
		return
	}
	m.mail.WithLabelValues(template, result).Inc()
}

// WatchOutbox adds the age of the outbox's longest-waiting due message,
// read by oldestDue (0 when none is due) at each scrape.
func (m *Metrics) WatchOutbox(oldestDue func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cleanslice_mail_outbox_oldest_due_seconds", Help: "How long the longest-waiting due message of the outbox has been due (0: none).",
	}, oldestDue))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

type requestKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// ObserveRequest counts one served request. The series of each route,
// method and status are looked up once and kept, so the hot path does no
// label hashing.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	k := requestKey{route, method, status}
	v, ok := m.series.Load(k)
	if !ok {
		s := strconv.Itoa(status)
		v, _ = m.series.LoadOrStore(k, requestSeries{
			count:   m.requests.WithLabelValues(route, method, s),
			latency: m.latency.WithLabelValues(route, method, s),
		})
	}
	rs := v.(requestSeries)
	rs.count.Inc()
	rs.latency.Observe(d.Seconds())
}

// HashStarted records a hash that got its slot after waiting wait.
func (m *Metrics) HashStarted(wait time.Duration) {
	m.hashWait.Observe(wait.Seconds())
	m.hashBusy.Inc()
}

// HashDone records the end of a hash.
func (m *Metrics) HashDone() { m.hashBusy.Dec() }

// OAuthSignIn counts one sign-in with a configured identity provider by
// its result.
func (m *Metrics) OAuthSignIn(provider, result string) {
	m.oauth.WithLabelValues(provider, result).Inc()
}

// LoginOutcome counts one login attempt.
func (m *Metrics) LoginOutcome(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// SessionsEnded counts n sessions ended for reason.
func (m *Metrics) SessionsEnded(reason session.EndReason, n int) {
	if n > 0 {
		m.ended.WithLabelValues(string(reason)).Add(float64(n))
	}
}

// Audited counts a committed audit event, and the sessions a session.ended
// event ended; recovery.requested is not counted (it is recorded for a
// known address only).
func (m *Metrics) Audited(e audit.Event) {
	if e.Type == audit.RecoveryRequested {
		return
	}
	m.audited.WithLabelValues(string(e.Type)).Inc()
	if reason, n, ok := e.Ended(); ok {
		m.SessionsEnded(session.EndReason(reason), n)
	}
}
