package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// DeliveryStore is the deliveries as the delivery loop works them.
type DeliveryStore interface {
	DueWebhookEndpoints(ctx context.Context, now time.Time) ([]uuid.UUID, error)
	WebhookTarget(ctx context.Context, id uuid.UUID) (sqlstore.WebhookTarget, bool, error)
	ClaimWebhookDeliveries(ctx context.Context, endpointID uuid.UUID, now time.Time, lease time.Duration, limit int) ([]sqlstore.WebhookDelivery, error)
	RecordWebhookAttempts(ctx context.Context, attempts ...sqlstore.WebhookAttempt) error
}

// Opener opens an endpoint's sealed signing secret (mfakeys.Keys).
type Opener interface {
	OpenWebhookSecret(endpointID uuid.UUID, sealed []byte) (secret string, stale bool, err error)
}

// Schedule is the wait after each failed attempt: the first failure is
// tried again after 5 s, the seventh after 10 h; the eighth gives the
// delivery up (about 28 hours after the first).
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// FailingLimit is how long an endpoint may fail every attempt before it
// is disabled.
const FailingLimit = 5 * 24 * time.Hour

// Delivery settings. Batch is how many deliveries of one endpoint are
// attempted at once (its concurrent requests, from one replica); a
// claim's lease outlasts those attempts (each bounded by Timeout) and the
// recording of their results, so a delivery is attempted again only once
// its attempt has surely ended, or its replica died.
const (
	Batch = 16
	Lease = Timeout + 20*time.Second
)

// Deliverer sends the due deliveries. Every replica runs one; a claim
// takes each delivery for one replica at a time. Each endpoint with work
// has a lane of its own, so a slow or dead receiver holds up only its own
// deliveries.
type Deliverer struct {
	Store   DeliveryStore
	Secrets Opener
	Client  *http.Client
	// Targets checks each endpoint's URL again before every attempt (the
	// configuration may have changed since it was registered).
	Targets webhook.Targets
	Log     *slog.Logger
	// Observe, when set, counts each attempt's result: delivered, retried,
	// given_up or released (interrupted by shutdown).
	Observe func(result string)
	Now     func() time.Time
}

// Run delivers due deliveries until ctx ends: every poll it looks for
// endpoints with due deliveries and starts a lane for each that has none
// running. It returns once every lane has recorded its results.
func (d *Deliverer) Run(ctx context.Context, poll time.Duration) {
	var (
		mu    sync.Mutex
		busy  = map[uuid.UUID]bool{}
		lanes sync.WaitGroup
	)
	defer lanes.Wait()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		ids, err := d.Store.DueWebhookEndpoints(ctx, d.Now())
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("webhook delivery: due endpoints", "error", err)
		}
		for _, id := range ids {
			mu.Lock()
			running := busy[id]
			busy[id] = true
			mu.Unlock()
			if running {
				continue
			}
			lanes.Go(func() {
				d.lane(ctx, id)
				mu.Lock()
				delete(busy, id)
				mu.Unlock()
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lane delivers an endpoint's due deliveries, a batch at a time, until
// fewer than a batch are due.
func (d *Deliverer) lane(ctx context.Context, endpointID uuid.UUID) {
	for ctx.Err() == nil {
		n, err := d.DeliverDue(ctx, endpointID)
		if err != nil {
			if ctx.Err() == nil {
				d.Log.Warn("webhook delivery: claim", "webhook", endpointID.String(), "error", err)
			}
			return
		}
		if n < Batch {
			return
		}
	}
}

// DeliverDue claims up to a batch of an enabled endpoint's due deliveries,
// attempts them at once and records their results together (one
// transaction: one commit for the batch); it returns how many it claimed.
// The results are recorded even when ctx has ended (shutdown): a
// delivered message is not to be sent again, an interrupted one is due
// again at once. Results that cannot be recorded are logged: the lease
// then brings the deliveries back (sent twice rather than lost; receivers
// deduplicate by webhook-id).
func (d *Deliverer) DeliverDue(ctx context.Context, endpointID uuid.UUID) (int, error) {
	t, ok, err := d.Store.WebhookTarget(ctx, endpointID)
	if err != nil || !ok {
		return 0, err
	}
	due, err := d.Store.ClaimWebhookDeliveries(ctx, endpointID, d.Now(), Lease, Batch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	secrets, secretsErr := d.secrets(endpointID, t)
	results := make([]result, len(due))
	var wg sync.WaitGroup
	for k, dl := range due {
		wg.Go(func() { results[k] = d.attempt(ctx, t, secrets, secretsErr, dl) })
	}
	wg.Wait()
	attempts := make([]sqlstore.WebhookAttempt, len(results))
	for k, r := range results {
		attempts[k] = r.attempt
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.Store.RecordWebhookAttempts(rctx, attempts...); err != nil {
		d.Log.Error("webhook delivery: record the results", "webhook", endpointID.String(), "deliveries", len(due), "error", err)
		return len(due), nil
	}
	for _, r := range results {
		r.log(d.Log, secretsErr != nil)
		if d.Observe != nil {
			d.Observe(r.name)
		}
	}
	return len(due), nil
}

// secrets opens the endpoint's live signing secrets: the current one, and
// the one it replaced while its overlap lasts.
func (d *Deliverer) secrets(endpointID uuid.UUID, t sqlstore.WebhookTarget) ([]string, error) {
	current, _, err := d.Secrets.OpenWebhookSecret(endpointID, t.Secret)
	if err != nil {
		return nil, fmt.Errorf("open the signing secret: %w", err)
	}
	out := []string{current}
	if t.PreviousSecret != nil && d.Now().Before(t.PreviousUntil) {
		previous, _, err := d.Secrets.OpenWebhookSecret(endpointID, t.PreviousSecret)
		if err != nil {
			return nil, fmt.Errorf("open the previous signing secret: %w", err)
		}
		out = append(out, previous)
	}
	return out, nil
}

// result is an attempt's outcome, as recorded and as logged.
type result struct {
	attempt sqlstore.WebhookAttempt
	name    string // delivered, retried, given_up or released
	err     error  // why it failed, when it did without an answer
}

// attempt sends dl once (unless its secrets did not open: then it fails
// without a request) and returns the result: delivered on a 2xx; on a 410
// given up and the endpoint disabled ("gone"); on any other answer or
// none, retried after the Schedule's wait for its attempt, or given up
// past it, and the endpoint disabled once it has failed for FailingLimit
// ("failing"). An attempt cut short by shutdown is due again at once.
func (d *Deliverer) attempt(ctx context.Context, t sqlstore.WebhookTarget, secrets []string, secretsErr error, dl sqlstore.WebhookDelivery) result {
	status, err := 0, secretsErr
	if err == nil {
		if err = d.Targets.CheckURL(t.URL); err != nil {
			err = fmt.Errorf("%w: %w", ErrAddressRefused, err)
		} else {
			status, err = d.send(ctx, t.URL, secrets, dl)
		}
	}
	now := d.Now()
	r := result{attempt: sqlstore.WebhookAttempt{Delivery: dl, At: now, Status: status}, err: err}
	a := &r.attempt
	switch {
	case err != nil && ctx.Err() != nil:
		r.name, a.Outcome, a.Next = "released", sqlstore.WebhookReleased, now
	case err == nil && status >= 200 && status < 300:
		r.name, a.Outcome = "delivered", sqlstore.WebhookDelivered
	case err == nil && status == http.StatusGone:
		r.name, a.Outcome, a.Disable = "given_up", sqlstore.WebhookGivenUp, "gone"
	default:
		r.name, a.Outcome = "retried", sqlstore.WebhookRetry
		if dl.Attempts > len(Schedule) {
			r.name, a.Outcome = "given_up", sqlstore.WebhookGivenUp
		} else {
			a.Next = now.Add(Schedule[dl.Attempts-1])
		}
		if since := t.FailingSince; !since.IsZero() && now.Sub(since) >= FailingLimit {
			a.Disable = "failing"
		}
	}
	return r
}

// log writes r's line: never the receiver's words, which are not kept.
func (r result) log(log *slog.Logger, secretsFailed bool) {
	a := r.attempt
	log = log.With("webhook", a.Delivery.EndpointID.String(), "delivery", a.Delivery.ID.String(),
		"event_type", a.Delivery.EventType, "attempt", a.Delivery.Attempts)
	switch {
	case r.name == "delivered":
		log.Info("webhook delivered", "status", a.Status)
	case r.err != nil && secretsFailed:
		log.Error("webhook delivery failed: its signing secret does not open (is an mfa key missing?)", "result", r.name, "error", r.err)
	case r.err != nil:
		log.Warn("webhook delivery failed", "result", r.name, "error", classify(r.err), "retry_at", a.Next)
	default:
		log.Warn("webhook delivery refused by the receiver", "result", r.name, "status", a.Status, "retry_at", a.Next)
	}
	if a.Disable != "" {
		log.Warn("webhook endpoint disabled", "reason", a.Disable)
	}
}

// send posts dl's body to url, signed with secrets, and returns the
// answer's status once at most MaxResponse bytes of it are read.
func (d *Deliverer) send(ctx context.Context, url string, secrets []string, dl sqlstore.WebhookDelivery) (int, error) {
	at := d.Now()
	sig, err := Sign(dl.ID.String(), at, dl.Payload, secrets...)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cleanslice-webhooks")
	req.Header.Set("webhook-id", dl.ID.String())
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// The status is the answer: what the body says, or how reading it
	// fails, changes nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponse))
	return resp.StatusCode, nil
}
