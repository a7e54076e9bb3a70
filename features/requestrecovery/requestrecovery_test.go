package requestrecovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

// fakeStore keeps the stored requests with the store's semantics (a claim
// counts and leases, a delete holds only for the claim that counted), and
// rolls everything back when a WithinTx fails. Every call fails once ctx
// has ended, as the database's do.
type fakeStore struct {
	users []user.User
	audittest.Trail
	authtest.Attempts
	onetimetest.Outbox
	requests []stored
	calls    []string // every call, by name, in order
	// lookupErr, when set, is what UserByEmail returns.
	lookupErr error
	// claimed, when set, runs after each claim.
	claimed func()
	// deleteErr, when set, is what DeleteRecoveryRequest returns.
	deleteErr error
}

type stored struct {
	onetime.RecoveryRequest
	due time.Time
}

func (f *fakeStore) called(ctx context.Context, name string) error {
	f.calls = append(f.calls, name)
	return ctx.Err()
}

func (f *fakeStore) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := f.called(ctx, "WithinTx"); err != nil {
		return err
	}
	tokens, messages, requests := slices.Clone(f.Tokens), slices.Clone(f.Messages), slices.Clone(f.requests)
	return f.Trail.WithinTx(ctx, func(ctx context.Context) error {
		err := fn(ctx)
		if err != nil {
			f.Tokens, f.Messages, f.requests = tokens, messages, requests
		}
		return err
	})
}

func (f *fakeStore) ReserveAttempts(ctx context.Context, now time.Time, length time.Duration, limits []auth.Limit) ([]auth.Reservation, error) {
	if err := f.called(ctx, "ReserveAttempts"); err != nil {
		return nil, err
	}
	return f.Attempts.ReserveAttempts(ctx, now, length, limits)
}

func (f *fakeStore) InsertRecoveryRequest(ctx context.Context, r onetime.RecoveryRequest) error {
	if err := f.called(ctx, "InsertRecoveryRequest"); err != nil {
		return err
	}
	f.requests = append(f.requests, stored{r, r.CreatedAt})
	return nil
}

func (f *fakeStore) ClaimRecoveryRequests(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]onetime.RecoveryRequest, error) {
	if err := f.called(ctx, "ClaimRecoveryRequests"); err != nil {
		return nil, err
	}
	var out []onetime.RecoveryRequest
	for k := range f.requests {
		if r := &f.requests[k]; len(out) < limit && !r.due.After(now) {
			r.Attempts++
			r.due = now.Add(lease)
			out = append(out, r.RecoveryRequest)
		}
	}
	if f.claimed != nil {
		f.claimed()
	}
	return out, nil
}

func (f *fakeStore) DeleteRecoveryRequest(ctx context.Context, id uuid.UUID, attempts int) (bool, error) {
	if err := f.called(ctx, "DeleteRecoveryRequest"); err != nil {
		return false, err
	}
	if f.deleteErr != nil {
		return false, f.deleteErr
	}
	n := len(f.requests)
	f.requests = slices.DeleteFunc(f.requests, func(r stored) bool { return r.ID == id && r.Attempts == attempts })
	return len(f.requests) < n, nil
}

func (f *fakeStore) UserByEmail(ctx context.Context, email string) (user.User, error) {
	if err := f.called(ctx, "UserByEmail"); err != nil {
		return user.User{}, err
	}
	if f.lookupErr != nil {
		return user.User{}, f.lookupErr
	}
	for _, u := range f.users {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return user.User{}, user.ErrNotFound
}

// sealer seals an address for an id: the id, then the address with every
// byte flipped. Only the id it was sealed for opens it.
type sealer struct{}

var errUnopenable = errors.New("unopenable")

func (sealer) Seal(id uuid.UUID, secret string) []byte {
	out := id.Bytes()
	for _, b := range []byte(secret) {
		out = append(out, ^b)
	}
	return out
}

func (sealer) Open(id uuid.UUID, sealed []byte) (string, bool, error) {
	rest, ok := bytes.CutPrefix(sealed, id.Bytes())
	if !ok {
		return "", false, errUnopenable
	}
	out := make([]byte, len(rest))
	for k, b := range rest {
		out[k] = ^b
	}
	return string(out), false, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore, *clock) {
	f := &fakeStore{users: []user.User{
		{ID: user.NewID(), Username: "valid", Email: "valid@example.com", EmailVerifiedAt: t0, IsActive: true},
		{ID: user.NewID(), Username: "unverified", Email: "unverified@example.com", IsActive: true},
		{ID: user.NewID(), Username: "inactive", Email: "inactive@example.com", EmailVerifiedAt: t0},
	}}
	links := onetime.Links{RecoveryURL: "http://app/recover#token={token}", RecoveryTTL: time.Hour}
	c := &clock{t0}
	return New(f, sealer{}, &f.Outbox, links, Limits{PerIP: 3, Window: time.Minute, PerAddress: 2, Key: []byte("k")}, c.now), f, c
}

// drain does the due requests' work, as Run does, and returns what was
// reported.
func drain(t *testing.T, i *Interactor) []error {
	t.Helper()
	var reported []error
	for {
		n, err := i.doDue(context.Background(), func(err error) { reported = append(reported, err) })
		if err != nil {
			t.Fatal(err)
		}
		if n < batch {
			return reported
		}
	}
}

func TestOnlyAVerifiedActiveAddressIsMailed(t *testing.T) {
	i, f, _ := setup()
	ctx := audit.WithSource(context.Background(), audit.Source{IP: "198.51.100.7", UserAgent: "curl", RequestID: "req-1"})
	for _, email := range []string{"nobody@example.com", "unverified@example.com", "inactive@example.com", "VALID@example.com"} {
		if err := i.Execute(ctx, Input{Email: email, ClientIP: "198.51.100." + email[:1]}); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	if len(f.Messages) != 0 || len(f.requests) != 4 {
		t.Fatalf("on the request path: %d messages, %d requests stored", len(f.Messages), len(f.requests))
	}
	for _, r := range f.requests {
		if bytes.Contains(bytes.ToLower(r.Email), []byte("example.com")) {
			t.Fatalf("a request stores its address in the clear: %q", r.Email)
		}
	}
	if reported := drain(t, i); len(reported) != 0 {
		t.Fatal(reported)
	}
	if len(f.Messages) != 1 || f.Messages[0].To != "valid@example.com" || f.Messages[0].Template != "recovery" || len(f.Tokens) != 1 ||
		f.Tokens[0].Purpose != onetime.Recovery || len(f.Events) != 1 || f.Events[0].Type != audit.RecoveryRequested {
		t.Fatalf("messages %+v, tokens %+v, events %+v", f.Messages, f.Tokens, f.Events)
	}
	if e := f.Events[0]; e.IP != "198.51.100.7" || e.UserAgent != "curl" || e.RequestID != "req-1" || e.Target.ID != f.users[0].ID {
		t.Fatalf("the event does not name the request's client: %+v", e)
	}
	if len(f.requests) != 0 {
		t.Fatalf("%d requests left once done", len(f.requests))
	}
	for key := range f.Windows {
		if strings.Contains(key, "example.com") {
			t.Fatalf("an address is stored in a window key: %q", key)
		}
	}
}

// TestTheSameWorkForEveryAddress: whatever the address, the request path
// makes the same calls (one transaction: the count and the insert), and
// looks nothing up.
func TestTheSameWorkForEveryAddress(t *testing.T) {
	want := []string{"WithinTx", "ReserveAttempts", "InsertRecoveryRequest"}
	for _, email := range []string{"nobody@example.com", "unverified@example.com", "inactive@example.com", "valid@example.com"} {
		i, f, _ := setup()
		if err := i.Execute(context.Background(), Input{Email: email, ClientIP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(f.calls, want) {
			t.Fatalf("%s: calls %v, want %v", email, f.calls, want)
		}
	}
}

func TestLimits(t *testing.T) {
	i, f, _ := setup()
	ctx := context.Background()
	if err := i.Execute(ctx, Input{Email: "not an address"}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("malformed: %v", err)
	}
	for range 3 {
		if err := i.Execute(ctx, Input{Email: "valid@example.com", ClientIP: "2001:db8::1"}); err != nil {
			t.Fatal(err)
		}
	}
	err := i.Execute(ctx, Input{Email: "nobody@example.com", ClientIP: "2001:db8::2"})
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests {
		t.Fatalf("fourth from the /64: %v", err)
	}
	if len(f.requests) != 3 {
		t.Fatalf("%d requests stored, want the 3 answered 202 (none for a malformed or refused one)", len(f.requests))
	}
	drain(t, i)
	if len(f.Messages) != 2 || len(f.requests) != 0 {
		t.Fatalf("%d messages for 3 requests with a cap of 2; %d requests left", len(f.Messages), len(f.requests))
	}
}

// TestRequestsThatSendNothingEndInOneCommit: a batch's requests that send
// nothing (a flood of unknown addresses) are deleted in one transaction;
// a request that sends a message has its own. When that deletion fails,
// they stay claimed and are done once their lease ends.
func TestRequestsThatSendNothingEndInOneCommit(t *testing.T) {
	i, f, c := setup()
	for k := range 10 {
		email := []string{"nobody@example.com", "unverified@example.com", "inactive@example.com"}[k%3]
		if err := i.Execute(context.Background(), Input{Email: email, ClientIP: fmt.Sprintf("192.0.2.%d", k)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := i.Execute(context.Background(), Input{Email: "valid@example.com", ClientIP: "192.0.2.99"}); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	f.deleteErr = errors.New("database unavailable")
	if reported := drain(t, i); len(reported) != 2 || !errors.Is(reported[0], f.deleteErr) || !errors.Is(reported[1], f.deleteErr) ||
		len(f.requests) != 11 || len(f.Messages) != 0 {
		t.Fatalf("reported %v, %d requests, %d messages", reported, len(f.requests), len(f.Messages))
	}
	f.deleteErr, f.calls = nil, nil
	c.t = c.t.Add(lease)
	if reported := drain(t, i); len(reported) != 0 || len(f.requests) != 0 || len(f.Messages) != 1 {
		t.Fatalf("after the lease: reported %v, %d requests, %d messages", reported, len(f.requests), len(f.Messages))
	}
	tx := 0
	for _, call := range f.calls {
		if call == "WithinTx" {
			tx++
		}
	}
	if tx != 2 {
		t.Fatalf("%d transactions for a batch of 10 requests that send nothing and one that sends: %v", tx, f.calls)
	}
}

// TestAFailedRequestIsTakenAgain: work that fails leaves the request
// claimed; nobody takes it again within its lease, and once the lease
// ends (the replica died, or failed) it is done.
func TestAFailedRequestIsTakenAgain(t *testing.T) {
	i, f, c := setup()
	if err := i.Execute(context.Background(), Input{Email: "valid@example.com", ClientIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	f.lookupErr = errors.New("database unavailable")
	if reported := drain(t, i); len(reported) != 1 || !errors.Is(reported[0], f.lookupErr) {
		t.Fatalf("reported %v", reported)
	}
	f.lookupErr = nil
	c.t = c.t.Add(lease - time.Second)
	if reported := drain(t, i); len(reported) != 0 || len(f.Messages) != 0 || len(f.requests) != 1 {
		t.Fatalf("within the lease: reported %v, %d messages, %d requests", reported, len(f.Messages), len(f.requests))
	}
	c.t = c.t.Add(time.Second)
	if reported := drain(t, i); len(reported) != 0 || len(f.Messages) != 1 || len(f.requests) != 0 {
		t.Fatalf("after the lease: reported %v, %d messages, %d requests", reported, len(f.Messages), len(f.requests))
	}
}

// TestARequestIsGivenUp: a request whose work fails at every claim (a
// fault, or an address no key opens) is deleted after maxAttempts, and
// reported; one sealed for another id never opens.
func TestARequestIsGivenUp(t *testing.T) {
	i, f, c := setup()
	if err := i.Execute(context.Background(), Input{Email: "valid@example.com", ClientIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	f.requests[0].Email = sealer{}.Seal(uuid.Must(uuid.NewV7()), "valid@example.com")
	for n := 1; n <= maxAttempts; n++ {
		if reported := drain(t, i); len(reported) != 1 || !errors.Is(reported[0], errUnopenable) || len(f.requests) != 1 {
			t.Fatalf("attempt %d: reported %v, %d requests", n, reported, len(f.requests))
		}
		c.t = c.t.Add(lease)
	}
	if reported := drain(t, i); len(reported) != 1 || !errors.Is(reported[0], errGivenUp) || len(f.requests) != 0 || len(f.Messages) != 0 {
		t.Fatalf("past %d attempts: reported %v, %d requests, %d messages", maxAttempts, reported, len(f.requests), len(f.Messages))
	}
}

// TestATakenClaimCommitsNothing: when a claim's lease ended and another
// worker claimed the request meanwhile, the first worker's work rolls
// back: one message, from the worker that holds the request.
func TestATakenClaimCommitsNothing(t *testing.T) {
	i, f, _ := setup()
	if err := i.Execute(context.Background(), Input{Email: "valid@example.com", ClientIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	f.claimed = func() { f.requests[0].Attempts++ } // another worker's claim
	if reported := drain(t, i); len(reported) != 1 || !errors.Is(reported[0], errTaken) || len(f.Messages) != 0 || len(f.Windows) != 1 ||
		len(f.requests) != 1 {
		t.Fatalf("reported %v, %d messages, %d windows, %d requests", reported, len(f.Messages), len(f.Windows), len(f.requests))
	}
}

// TestWorkClaimedIsDoneAtShutdown: a request claimed when ctx ends is
// still done and recorded, not left for its lease.
func TestWorkClaimedIsDoneAtShutdown(t *testing.T) {
	i, f, _ := setup()
	for _, email := range []string{"valid@example.com", "nobody@example.com"} {
		if err := i.Execute(context.Background(), Input{Email: email, ClientIP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.claimed = cancel
	var reported []error
	if n, err := i.doDue(ctx, func(err error) { reported = append(reported, err) }); err != nil || n != 2 {
		t.Fatalf("claimed %d: %v", n, err)
	}
	if len(reported) != 0 || len(f.Messages) != 1 || len(f.requests) != 0 {
		t.Fatalf("reported %v, %d messages, %d requests", reported, len(f.Messages), len(f.requests))
	}
}

// TestRunWorksAtOnceAndStopsWithItsContext: Run does what is due when it
// starts (a new process takes the requests a crashed one left) and returns
// when ctx ends.
func TestRunWorksAtOnceAndStopsWithItsContext(t *testing.T) {
	i, f, _ := setup()
	if err := i.Execute(context.Background(), Input{Email: "valid@example.com", ClientIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.claimed = cancel
	done := make(chan struct{})
	go func() {
		i.Run(ctx, func(err error) { t.Error(err) })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(poll / 2):
		t.Fatal("Run did not stop with its context")
	}
	if len(f.Messages) != 1 {
		t.Fatalf("%d messages: the due request was not done at once", len(f.Messages))
	}
}
