package password

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// cheap keeps the unit tests fast; the benchmarks use the defaults.
var cheap = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

var defaults = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

const pepper = "0123456789abcdef0123456789abcdef"

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := New(cheap, Peppers{Current: pepper}, 2, time.Second, nil, nil, nil)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1,keyid="+PepperID(pepper)+"$") {
		t.Fatalf("not a PHC string with its parameters: %s", enc)
	}
	if enc2, _ := h.Hash(ctx, "correct horse"); enc2 == enc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if ok, err := h.Verify(ctx, enc, pw); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// The pepper is part of the hash: another pepper does not verify.
	other := New(cheap, Peppers{Current: strings.Repeat("x", 32)}, 2, time.Second, nil, nil, nil)
	if ok, _ := other.Verify(ctx, enc, "correct horse"); ok {
		t.Fatal("verified with another pepper")
	}
	// The dummy hash is a real hash that matches nothing a user types.
	if ok, err := h.Verify(ctx, h.Dummy(), "correct horse"); ok || err != nil {
		t.Fatalf("dummy verify = %v, %v", ok, err)
	}
}

// TestNoPassword: an account without a password matches no password, at
// the cost of one verification (a hash slot taken), like a wrong one.
func TestNoPassword(t *testing.T) {
	obs := &countingObserver{}
	h := New(cheap, Peppers{Current: pepper}, 1, time.Second, obs, nil, nil)
	for _, pw := range []string{"", "!", "correct horse"} {
		if ok, err := h.Verify(context.Background(), user.NoPassword, pw); ok || err != nil {
			t.Errorf("Verify(NoPassword, %q) = %v, %v", pw, ok, err)
		}
	}
	if obs.started != 3 {
		t.Fatalf("%d verifications for 3 tries", obs.started)
	}
}

func TestVerifyRejectsGarbage(t *testing.T) {
	h := New(cheap, Peppers{Current: pepper}, 1, time.Second, nil, nil, nil)
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, err := h.Verify(context.Background(), bad, "x"); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := New(cheap, Peppers{Current: pepper}, 1, time.Second, nil, nil, nil)
	enc, _ := old.Hash(ctx, "pw")
	if old.NeedsRehash(enc) {
		t.Error("a current hash needs a rehash")
	}
	stronger := New(Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, Peppers{Current: pepper}, 1, time.Second, nil, nil, nil)
	if !stronger.NeedsRehash(enc) {
		t.Error("a hash with old parameters does not need a rehash")
	}
	// It still verifies with its own parameters.
	if ok, _ := stronger.Verify(ctx, enc, "pw"); !ok {
		t.Error("an old hash no longer verifies")
	}
	if !stronger.NeedsRehash("garbage") {
		t.Error("garbage does not need a rehash")
	}
}

func TestPoolBoundAndQueueTimeout(t *testing.T) {
	h := New(cheap, Peppers{Current: pepper}, 2, 50*time.Millisecond, nil, nil, nil)
	ctx := context.Background()
	// Fill both slots by hand, as two long hashes would.
	slot, err := h.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = h.Hash(ctx, "pw")
	if !errors.Is(err, ErrBusy) || !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Hash with a full pool = %v, want ErrBusy (unavailable)", err)
	}
	// A slot that frees up while waiting is taken.
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(10 * time.Millisecond)
		h.release(slot)
	})
	h.queueTimeout = 5 * time.Second
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatalf("Hash after a release = %v", err)
	}
	wg.Wait()
	// A cancelled caller stops waiting.
	if _, err := h.acquire(ctx); err != nil { // the pool is full again
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Hash(cctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with a cancelled context = %v", err)
	}
}

func TestConcurrencyNeverExceedsBound(t *testing.T) {
	h := New(cheap, Peppers{Current: pepper}, 3, 10*time.Second, nil, nil, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for range 30 {
		wg.Go(func() {
			slot, err := h.acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			peak = max(peak, len(h.slots))
			mu.Unlock()
			time.Sleep(time.Millisecond)
			h.release(slot)
		})
	}
	wg.Wait()
	if peak > 3 {
		t.Fatalf("%d hashes at once, bound is 3", peak)
	}
}

// yielder is a Yielder the test switches between idle and busy.
type yielder struct {
	mu   sync.Mutex
	idle chan struct{}
}

func (y *yielder) Idle() <-chan struct{} {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.idle
}

func (y *yielder) set(idle bool) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if idle {
		close(y.idle)
	} else {
		y.idle = make(chan struct{})
	}
}

// TestHashesYieldTheLastCore: with other requests in flight the last slot
// is not used; with none it is, and a hash waiting for it starts as soon
// as the others are gone.
func TestHashesYieldTheLastCore(t *testing.T) {
	y := &yielder{idle: make(chan struct{})}
	close(y.idle)
	h := New(cheap, Peppers{Current: pepper}, 2, 50*time.Millisecond, nil, nil, y)
	ctx := context.Background()
	a, errA := h.acquire(ctx)
	b, errB := h.acquire(ctx)
	if errA != nil || errB != nil || a == b {
		t.Fatalf("idle: two slots %v, %v (the same: %v)", errA, errB, a == b)
	}
	h.release(a)
	h.release(b)

	y.set(false) // a read arrives
	a, err := h.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("busy: the spare slot was taken (%v)", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(10 * time.Millisecond)
		y.set(true) // the read is done
	})
	h.queueTimeout = 5 * time.Second
	start := time.Now()
	b, err = h.acquire(ctx)
	wg.Wait()
	if err != nil || b == a || time.Since(start) > time.Second {
		t.Fatalf("after the read: %v after %s", err, time.Since(start))
	}
	h.release(a)
	h.release(b)
}

func BenchmarkHash(b *testing.B) {
	h := New(defaults, Peppers{Current: pepper}, 1, time.Minute, nil, nil, nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := New(defaults, Peppers{Current: pepper}, 1, time.Minute, nil, nil, nil)
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "correct horse battery staple")
	for b.Loop() {
		if ok, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestPepperGenerations: a hash made with a previous pepper verifies and
// needs a rehash; once that pepper is dropped it never matches, and that
// is logged once per hash; hashes without a pepper id mean the first
// previous pepper, or the current one when there is none.
func TestPepperGenerations(t *testing.T) {
	ctx := context.Background()
	const p1, p2 = "first-pepper-0123456789abcdef0123", "second-pepper-0123456789abcdef012"
	v1 := New(cheap, Peppers{Current: p1}, 1, time.Second, nil, nil, nil)
	old, _ := v1.Hash(ctx, "pw")
	if !strings.Contains(old, ",keyid="+PepperID(p1)+"$") || strings.Contains(old, p1) {
		t.Fatalf("hash does not name its pepper by id: %s", old)
	}

	rotated := New(cheap, Peppers{Current: p2, Previous: []string{p1}}, 1, time.Second, nil, nil, nil)
	if ok, err := rotated.Verify(ctx, old, "pw"); !ok || err != nil {
		t.Fatalf("old-pepper hash after rotation: %v, %v", ok, err)
	}
	if !rotated.NeedsRehash(old) {
		t.Fatal("an old-pepper hash does not need a rehash")
	}
	fresh, _ := rotated.Hash(ctx, "pw")
	if rotated.NeedsRehash(fresh) || !strings.Contains(fresh, PepperID(p2)) {
		t.Fatalf("new hash %s", fresh)
	}

	var logs strings.Builder
	count := &countingObserver{}
	dropped := New(cheap, Peppers{Current: p2}, 1, time.Second, count, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	count.started = 0 // the dummy hash made by New
	for range 3 {
		if ok, err := dropped.Verify(ctx, old, "pw"); ok || err != nil {
			t.Fatalf("hash of a dropped pepper: %v, %v; want a plain mismatch", ok, err)
		}
	}
	if count.started != 3 {
		t.Fatalf("3 verifications on a dropped pepper ran %d hashes, want one each (same cost as a wrong password)", count.started)
	}
	if n := strings.Count(logs.String(), "pepper_id="+PepperID(p1)); n != 1 {
		t.Fatalf("dropped pepper logged %d times, want once:\n%s", n, logs.String())
	}

	// A hash from before pepper ids.
	legacy := strings.Replace(old, ",keyid="+PepperID(p1), "", 1)
	if ok, _ := v1.Verify(ctx, legacy, "pw"); !ok {
		t.Fatal("a hash without an id does not mean the current pepper when there is no previous one")
	}
	if ok, _ := rotated.Verify(ctx, legacy, "pw"); !ok {
		t.Fatal("a hash without an id does not mean the first previous pepper")
	}
	if !v1.NeedsRehash(legacy) {
		t.Fatal("a hash without an id does not get one at the next login")
	}
	if id, p := Describe(old); id != PepperID(p1) || p != cheap {
		t.Fatalf("Describe = %q, %+v", id, p)
	}
}

type countingObserver struct{ started int }

func (c *countingObserver) HashStarted(time.Duration) { c.started++ }
func (c *countingObserver) HashDone()                 {}
