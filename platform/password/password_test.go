package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// cheap keeps the unit tests fast; the benchmarks use the defaults.
var cheap = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

var defaults = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

const pepper = "0123456789abcdef0123456789abcdef"

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := New(cheap, pepper, 2, time.Second, nil)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
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
	other := New(cheap, strings.Repeat("x", 32), 2, time.Second, nil)
	if ok, _ := other.Verify(ctx, enc, "correct horse"); ok {
		t.Fatal("verified with another pepper")
	}
	// The dummy hash is a real hash that matches nothing a user types.
	if ok, err := h.Verify(ctx, h.Dummy(), "correct horse"); ok || err != nil {
		t.Fatalf("dummy verify = %v, %v", ok, err)
	}
}

func TestVerifyRejectsGarbage(t *testing.T) {
	h := New(cheap, pepper, 1, time.Second, nil)
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5"} {
		if _, err := h.Verify(context.Background(), bad, "x"); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := New(cheap, pepper, 1, time.Second, nil)
	enc, _ := old.Hash(ctx, "pw")
	if old.NeedsRehash(enc) {
		t.Error("a current hash needs a rehash")
	}
	stronger := New(Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, pepper, 1, time.Second, nil)
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
	h := New(cheap, pepper, 2, 50*time.Millisecond, nil)
	ctx := context.Background()
	// Fill both slots by hand, as two long hashes would.
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := h.Hash(ctx, "pw")
	if !errors.Is(err, ErrBusy) || !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Hash with a full pool = %v, want ErrBusy (unavailable)", err)
	}
	// A slot that frees up while waiting is taken.
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(10 * time.Millisecond)
		h.release()
	})
	h.queueTimeout = 5 * time.Second
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatalf("Hash after a release = %v", err)
	}
	wg.Wait()
	// A cancelled caller stops waiting.
	if err := h.acquire(ctx); err != nil { // the pool is full again
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Hash(cctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with a cancelled context = %v", err)
	}
}

func TestConcurrencyNeverExceedsBound(t *testing.T) {
	h := New(cheap, pepper, 3, 10*time.Second, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for range 30 {
		wg.Go(func() {
			if err := h.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			peak = max(peak, len(h.slots))
			mu.Unlock()
			time.Sleep(time.Millisecond)
			h.release()
		})
	}
	wg.Wait()
	if peak > 3 {
		t.Fatalf("%d hashes at once, bound is 3", peak)
	}
}

func BenchmarkHash(b *testing.B) {
	h := New(defaults, pepper, 1, time.Minute, nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := New(defaults, pepper, 1, time.Minute, nil)
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "correct horse battery staple")
	for b.Loop() {
		if ok, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
