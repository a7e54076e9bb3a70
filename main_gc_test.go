package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
)

// TestTuneGC: without GOGC and GOMEMLIMIT the limit is the hashes' working
// set plus headroom (less on SQLite) and GOGC is 400; with either set,
// nothing changes.
func TestTuneGC(t *testing.T) {
	prevLimit, prevPercent := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(prevPercent) // SetGCPercent(-1) turned the collector off: undo at once
	t.Cleanup(func() {
		debug.SetMemoryLimit(prevLimit)
		debug.SetGCPercent(prevPercent)
	})
	cfg := config.Password{MaxConcurrency: 4, Argon2MemoryKiB: 19456}
	log := slog.New(slog.DiscardHandler)
	tuneGC(cfg, "postgres", func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }, log)
	if debug.SetMemoryLimit(-1) != prevLimit {
		t.Fatal("an operator's GOMEMLIMIT was overridden")
	}
	for engine, want := range map[string]int64{
		"postgres": 32<<20 + 2*4*19456<<10,
		"sqlite":   24<<20 + 2*4*19456<<10, // SQLite's C memory is outside the limit
	} {
		tuneGC(cfg, engine, func(string) string { return "" }, log)
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("%s: memory limit %d MiB, want %d MiB", engine, got>>20, want>>20)
		}
	}
	if got := debug.SetGCPercent(prevPercent); got != 400 {
		t.Errorf("GOGC %d, want 400", got)
	}
}

// TestExtraProcs: one processor more than the hashes can hold, from the
// runtime's count, and none when the operator set GOMAXPROCS, when the
// runtime runs on fewer processors than the machine has cores (a
// container's CPU limit) or when the hashes cannot take every processor.
func TestExtraProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	none := func(string) string { return "" }
	if _, _, ok := extraProcs(config.Password{MaxConcurrency: prev + 3}, func(k string) string { return map[string]string{"GOMAXPROCS": "1"}[k] }); ok {
		t.Error("with GOMAXPROCS set: an extra processor")
	}
	cpus := runtime.NumCPU()
	runtime.GOMAXPROCS(cpus)
	if base, raised, ok := extraProcs(config.Password{MaxConcurrency: cpus}, none); !ok || base != cpus || raised != cpus+1 {
		t.Errorf("%d hashes on %d cores: %d -> %d (%v), want %d -> %d", cpus, cpus, base, raised, ok, cpus, cpus+1)
	}
	if base, raised, ok := extraProcs(config.Password{MaxConcurrency: cpus + 3}, none); !ok || base != cpus || raised != cpus+4 {
		t.Errorf("%d hashes on %d cores: %d -> %d (%v), want %d -> %d", cpus+3, cpus, base, raised, ok, cpus, cpus+4)
	}
	if _, _, ok := extraProcs(config.Password{MaxConcurrency: cpus - 1}, none); ok {
		t.Errorf("%d hashes on %d cores: an extra processor", cpus-1, cpus)
	}
	if cpus > 1 {
		runtime.GOMAXPROCS(cpus - 1)
		if _, _, ok := extraProcs(config.Password{MaxConcurrency: cpus - 1}, none); ok {
			t.Errorf("under a CPU limit of %d of %d cores: an extra processor", cpus-1, cpus)
		}
	}
}

// contention is a Foreground for followForeground: contended while set.
type contention struct{ atomic.Bool }

func (c *contention) Contended() bool { return c.Load() }

// TestFollowForeground: the processors go up once samples find requests
// contending with hashes, stay up while they keep coming, and go back down
// once ten samples in a row found none. (When requests contend is
// TestForeground's.)
func TestFollowForeground(t *testing.T) {
	var fg contention
	sets := make(chan int, 16)
	set := func(n int) int { sets <- n; return 0 }
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	const sample = 20 * time.Millisecond
	go func() {
		defer close(stopped)
		followForeground(ctx, &fg, 2, 3, sample, set, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	expect := func(what string, want int) {
		t.Helper()
		select {
		case got := <-sets:
			if got != want {
				t.Fatalf("%s: processors set to %d, want %d", what, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: processors not set to %d", what, want)
		}
	}
	nothing := func(what string, d time.Duration) {
		t.Helper()
		select {
		case got := <-sets:
			t.Fatalf("%s: processors set to %d", what, got)
		case <-time.After(d):
		}
	}

	nothing("idle", 20*sample)
	fg.Store(true)
	expect("a request in flight", 3)
	// Requests again before ten samples found none keep the processor.
	for range 5 {
		fg.Store(false)
		time.Sleep(2 * sample)
		fg.Store(true)
		time.Sleep(3 * sample)
	}
	if len(sets) != 0 {
		t.Fatalf("requests kept coming, yet the processors were set to %d", <-sets)
	}
	fg.Store(false)
	expect("no request for ten samples", 2)
	nothing("quiet", 20*sample)
}
