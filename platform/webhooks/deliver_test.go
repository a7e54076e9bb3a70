package webhooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// fakeStore holds endpoints and their due deliveries in memory, and
// records every attempt's result.
type fakeStore struct {
	mu       sync.Mutex
	targets  map[uuid.UUID]sqlstore.WebhookTarget
	due      map[uuid.UUID][]sqlstore.WebhookDelivery
	recorded []sqlstore.WebhookAttempt
	onRecord func(sqlstore.WebhookAttempt) // called with mu held
}

func newFakeStore() *fakeStore {
	return &fakeStore{targets: map[uuid.UUID]sqlstore.WebhookTarget{}, due: map[uuid.UUID][]sqlstore.WebhookDelivery{}}
}

// add registers an endpoint at url with n deliveries due, at the given
// attempt (the claim's count).
func (f *fakeStore) add(url string, t sqlstore.WebhookTarget, n, attempts int) uuid.UUID {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uuid.Must(uuid.NewV7())
	t.URL = url
	if t.Secret == nil {
		t.Secret = []byte(secretA)
	}
	f.targets[id] = t
	for range n {
		f.due[id] = append(f.due[id], sqlstore.WebhookDelivery{EndpointID: id, ID: uuid.Must(uuid.NewV7()), EventType: "login.succeeded",
			Payload: []byte(`{"type":"login.succeeded"}`), Attempts: attempts})
	}
	return id
}

func (f *fakeStore) DueWebhookEndpoints(context.Context, time.Time) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uuid.UUID
	for id, d := range f.due {
		if len(d) > 0 {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fakeStore) WebhookTarget(_ context.Context, id uuid.UUID) (sqlstore.WebhookTarget, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.targets[id]
	return t, ok, nil
}

func (f *fakeStore) ClaimWebhookDeliveries(_ context.Context, id uuid.UUID, _ time.Time, lease time.Duration, limit int) ([]sqlstore.WebhookDelivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if lease != Lease {
		return nil, errors.New("another lease")
	}
	n := min(limit, len(f.due[id]))
	out := f.due[id][:n]
	f.due[id] = f.due[id][n:]
	return out, nil
}

func (f *fakeStore) RecordWebhookAttempts(ctx context.Context, attempts ...sqlstore.WebhookAttempt) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range attempts {
		f.recorded = append(f.recorded, a)
		if f.onRecord != nil {
			f.onRecord(a)
		}
	}
	return nil
}

func (f *fakeStore) results() []sqlstore.WebhookAttempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.recorded)
}

// plainSecrets opens a "sealed" secret that is the secret itself.
type plainSecrets struct{}

func (plainSecrets) OpenWebhookSecret(_ uuid.UUID, sealed []byte) (string, bool, error) {
	if string(sealed) == "broken" {
		return "", false, errors.New("no key opens it")
	}
	return string(sealed), false, nil
}

var (
	secretA = string(webhook.NewSecret())
	secretB = string(webhook.NewSecret())
)

var t1 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newDeliverer(store *fakeStore, now time.Time) *Deliverer {
	return &Deliverer{Store: store, Secrets: plainSecrets{}, Client: NewClient(webhook.Targets{AllowPrivate: true}),
		Targets: webhook.Targets{AllowPrivate: true}, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
}

// TestAttemptResults: what each answer leads to. A 2xx is delivered; a
// 410 gives up and disables the endpoint ("gone"); any other answer, no
// answer, a redirect, or a secret that does not open is retried after the
// schedule's wait for that attempt, and the eighth failure gives up; an
// endpoint failing for five days is disabled ("failing").
func TestAttemptResults(t *testing.T) {
	status := http.StatusNoContent
	var mu sync.Mutex
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", status)
			return
		}
		w.WriteHeader(status)
	})
	for _, c := range []struct {
		name     string
		status   int
		url      string
		target   sqlstore.WebhookTarget
		attempts int
		outcome  sqlstore.WebhookOutcome
		next     time.Duration
		disable  string
	}{
		{"204", 204, srv.URL, sqlstore.WebhookTarget{}, 1, sqlstore.WebhookDelivered, 0, ""},
		{"200 after failures", 200, srv.URL, sqlstore.WebhookTarget{FailingSince: t1.Add(-6 * 24 * time.Hour)}, 3, sqlstore.WebhookDelivered, 0, ""},
		{"500, first attempt", 500, srv.URL, sqlstore.WebhookTarget{}, 1, sqlstore.WebhookRetry, 5 * time.Second, ""},
		{"500, second attempt", 500, srv.URL, sqlstore.WebhookTarget{}, 2, sqlstore.WebhookRetry, 5 * time.Minute, ""},
		{"429, seventh attempt", 429, srv.URL, sqlstore.WebhookTarget{}, 7, sqlstore.WebhookRetry, 10 * time.Hour, ""},
		{"500, eighth attempt", 500, srv.URL, sqlstore.WebhookTarget{}, 8, sqlstore.WebhookGivenUp, 0, ""},
		{"a redirect", http.StatusFound, srv.URL, sqlstore.WebhookTarget{}, 1, sqlstore.WebhookRetry, 5 * time.Second, ""},
		{"410", 410, srv.URL, sqlstore.WebhookTarget{}, 1, sqlstore.WebhookGivenUp, 0, "gone"},
		{"no answer", 0, "http://127.0.0.1:1/", sqlstore.WebhookTarget{}, 3, sqlstore.WebhookRetry, 30 * time.Minute, ""},
		{"a URL no longer allowed", 0, "http://user:x@" + srv.Listener.Addr().String(), sqlstore.WebhookTarget{}, 1, sqlstore.WebhookRetry, 5 * time.Second, ""},
		{"a secret that does not open", 0, srv.URL, sqlstore.WebhookTarget{Secret: []byte("broken")}, 1, sqlstore.WebhookRetry, 5 * time.Second, ""},
		{"failing for 4 days", 500, srv.URL, sqlstore.WebhookTarget{FailingSince: t1.Add(-4 * 24 * time.Hour)}, 4, sqlstore.WebhookRetry, 2 * time.Hour, ""},
		{"failing for 5 days", 500, srv.URL, sqlstore.WebhookTarget{FailingSince: t1.Add(-5 * 24 * time.Hour)}, 4, sqlstore.WebhookRetry, 2 * time.Hour, "failing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			status = c.status
			mu.Unlock()
			store := newFakeStore()
			id := store.add(c.url, c.target, 1, c.attempts)
			if n, err := newDeliverer(store, t1).DeliverDue(context.Background(), id); err != nil || n != 1 {
				t.Fatalf("DeliverDue = %d, %v", n, err)
			}
			got := store.results()
			if len(got) != 1 {
				t.Fatalf("results %+v", got)
			}
			a := got[0]
			var next time.Time
			if c.next > 0 {
				next = t1.Add(c.next)
			}
			if a.Outcome != c.outcome || !a.Next.Equal(next) || a.Disable != c.disable || a.Status != c.status || !a.At.Equal(t1) || a.Delivery.Attempts != c.attempts {
				t.Fatalf("result %+v; want outcome %d, next %v, disable %q, status %d", a, c.outcome, next, c.disable, c.status)
			}
		})
	}
}

// TestDeliveryIsSigned: a delivery carries the Standard Webhooks headers
// (webhook-id the delivery's id) and its body as queued; during a
// rotation's overlap a receiver with either secret verifies it, and after
// it only the new one does.
func TestDeliveryIsSigned(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
	}
	received := make(chan got, 4)
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- got{r.Header.Clone(), b}
	})
	now := time.Now()
	verify := func(secret string, g got) error {
		wh, _ := standardwebhooks.NewWebhook(secret)
		return wh.Verify(g.body, g.header)
	}
	for _, c := range []struct {
		name     string
		until    time.Time
		oldValid bool
	}{
		{"during the overlap", now.Add(time.Hour), true},
		{"after the overlap", now.Add(-time.Second), false},
	} {
		store := newFakeStore()
		id := store.add(srv.URL, sqlstore.WebhookTarget{Secret: []byte(secretB), PreviousSecret: []byte(secretA), PreviousUntil: c.until}, 1, 1)
		dl := store.due[id][0]
		if _, err := newDeliverer(store, now).DeliverDue(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		g := <-received
		if g.header.Get("webhook-id") != dl.ID.String() || string(g.body) != string(dl.Payload) || g.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: headers %v, body %s", c.name, g.header, g.body)
		}
		if err := verify(secretB, g); err != nil {
			t.Errorf("%s: the new secret: %v", c.name, err)
		}
		if err := verify(secretA, g); (err == nil) != c.oldValid {
			t.Errorf("%s: the old secret: %v", c.name, err)
		}
	}
}

// TestSlowReceiverDelaysNoOther: while one endpoint's receiver holds every
// request, another endpoint's deliveries are all delivered; at shutdown
// the held attempts are recorded as released (due again at once), with
// the run's context already ended.
func TestSlowReceiverDelaysNoOther(t *testing.T) {
	hold := make(chan struct{})
	slow, slowHits := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	})
	fast, _ := receiver(t, nil)
	store := newFakeStore()
	slowID := store.add(slow.URL, sqlstore.WebhookTarget{}, 3, 1)
	fastID := store.add(fast.URL, sqlstore.WebhookTarget{}, 2*Batch+3, 1)
	allFast := make(chan struct{})
	var fastDone int
	store.onRecord = func(a sqlstore.WebhookAttempt) {
		if a.Delivery.EndpointID == fastID && a.Outcome == sqlstore.WebhookDelivered {
			if fastDone++; fastDone == 2*Batch+3 {
				close(allFast)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := newDeliverer(store, t1)
	stopped := make(chan struct{})
	go func() {
		d.Run(ctx, 10*time.Millisecond)
		close(stopped)
	}()
	select {
	case <-allFast:
	case <-time.After(Timeout / 2):
		t.Fatal("the fast endpoint's deliveries waited for the slow receiver")
	}
	for slowHits.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-stopped
	close(hold)
	var released int
	for _, a := range store.results() {
		if a.Delivery.EndpointID == slowID {
			if a.Outcome != sqlstore.WebhookReleased || !a.Next.Equal(t1) {
				t.Fatalf("a held attempt at shutdown: %+v", a)
			}
			released++
		}
	}
	if released != 3 {
		t.Fatalf("%d held attempts recorded at shutdown, want 3", released)
	}
}

// TestAtMost4KiBAreRead: a receiver that answers 200 with an endless body
// gets its delivery recorded as delivered once MaxResponse bytes are read:
// the sender does not wait for the rest.
func TestAtMost4KiBAreRead(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	store := newFakeStore()
	id := store.add(srv.URL, sqlstore.WebhookTarget{}, 1, 1)
	done := make(chan struct{})
	go func() {
		newDeliverer(store, t1).DeliverDue(context.Background(), id)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(Timeout / 2):
		t.Fatal("the sender waited for the rest of the answer")
	}
	if got := store.results(); len(got) != 1 || got[0].Outcome != sqlstore.WebhookDelivered {
		t.Fatalf("results %+v", got)
	}
}
