package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/cleanslice/cleanslice/platform/config"
)

// TestMain keeps the runtime's own collector and scheduler settings for
// the tests: many services share this process, so serve's tuning (which
// steps aside when GOGC and GOMAXPROCS are set) would size one process for
// all of them by one's config.
func TestMain(m *testing.M) {
	if os.Getenv("GOGC") == "" {
		os.Setenv("GOGC", "100")
	}
	if os.Getenv("GOMAXPROCS") == "" {
		os.Setenv("GOMAXPROCS", strconv.Itoa(runtime.GOMAXPROCS(0)))
	}
	os.Exit(m.Run())
}

// TestTuneGC: without GOGC and GOMEMLIMIT the limit is the hashes' working
// set plus headroom and GOGC is 400; with either set, nothing changes.
func TestTuneGC(t *testing.T) {
	prevLimit, prevPercent := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(prevPercent) // SetGCPercent(-1) turned the collector off: undo at once
	t.Cleanup(func() {
		debug.SetMemoryLimit(prevLimit)
		debug.SetGCPercent(prevPercent)
	})
	cfg := config.Password{MaxConcurrency: 4, Argon2MemoryKiB: 19456}
	log := slog.New(slog.DiscardHandler)
	tuneGC(cfg, func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }, log)
	if debug.SetMemoryLimit(-1) != prevLimit {
		t.Fatal("an operator's GOMEMLIMIT was overridden")
	}
	tuneGC(cfg, func(string) string { return "" }, log)
	want := int64(32<<20 + 2*4*19456<<10)
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("memory limit %d MiB, want %d MiB", got>>20, want>>20)
	}
	if got := debug.SetGCPercent(prevPercent); got != 400 {
		t.Errorf("GOGC %d, want 400", got)
	}
}

// TestTuneProcs: one processor more than the hashes can hold, never fewer
// than the runtime chose, and nothing when the operator set GOMAXPROCS or
// the runtime runs on fewer processors than the machine has cores (a
// container's CPU limit).
func TestTuneProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	log := slog.New(slog.DiscardHandler)
	none := func(string) string { return "" }
	tuneProcs(config.Password{MaxConcurrency: prev + 3}, func(k string) string { return map[string]string{"GOMAXPROCS": "1"}[k] }, log)
	if got := runtime.GOMAXPROCS(0); got != prev {
		t.Fatalf("with GOMAXPROCS set: %d processors, want the runtime's %d", got, prev)
	}
	cpus := runtime.NumCPU()
	runtime.GOMAXPROCS(cpus)
	tuneProcs(config.Password{MaxConcurrency: cpus + 3}, none, log)
	if got := runtime.GOMAXPROCS(0); got != cpus+4 {
		t.Errorf("%d hashes on %d cores: %d processors, want %d", cpus+3, cpus, got, cpus+4)
	}
	if cpus > 1 {
		runtime.GOMAXPROCS(cpus - 1)
		tuneProcs(config.Password{MaxConcurrency: cpus - 1}, none, log)
		if got := runtime.GOMAXPROCS(0); got != cpus-1 {
			t.Errorf("under a CPU limit of %d of %d cores: %d processors, want the limit", cpus-1, cpus, got)
		}
	}
	runtime.GOMAXPROCS(cpus)
	tuneProcs(config.Password{MaxConcurrency: 1}, none, log)
	if got := runtime.GOMAXPROCS(0); got != max(cpus, 2) {
		t.Errorf("one hash: %d processors, want %d", got, max(cpus, 2))
	}
}
