package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
)

// tuneGC sets the garbage collector for a service whose memory is mostly
// argon2's, unless the operator set GOGC or GOMEMLIMIT. A soft memory
// limit of the hashes' working set (max_concurrency hashes of
// argon2_memory_kib, twice over) plus 32 MiB keeps the peak bounded; under
// it, the heap may grow 4x between collections instead of 2x, because a
// small live heap otherwise costs a collection every few MiB of request
// garbage (measured: 17 % of GET /api/v1/'s CPU). The live heap, at most
// max_concurrency hashes and the service's own few MiB, stays far below the
// limit, so the limit never makes the collector thrash. On SQLite the
// limit is sqliteOutsideHeap lower: SQLite's page caches and statements
// are C memory, outside Go's heap and its limit.
func tuneGC(cfg config.Password, engine string, getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := gcHeadroom + 2*int64(cfg.MaxConcurrency)*int64(cfg.Argon2MemoryKiB)<<10
	if engine == "sqlite" {
		limit -= sqliteOutsideHeap
	}
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(gcPercent)
	log.Info("garbage collector tuned", "gogc", gcPercent, "memory_limit_mib", limit>>20)
}

// The collector's settings; see tuneGC. sqliteOutsideHeap is measured:
// after the reads, SQLite's login flood peaked at 151 / 149 MiB with the
// PostgreSQL limit and 137 / 139 MiB 8 MiB under it, logins unchanged
// (`go run ./bench -engine sqlite -only b,c,d`, alternating); the same cut
// on PostgreSQL, whose memory is all Go's, only cost logins (0.86 / 0.83 ->
// 0.82 / 0.79 x the hash rate) and left the peak where it was.
const (
	gcHeadroom        = 32 << 20
	gcPercent         = 400
	sqliteOutsideHeap = 8 << 20
)

// extraProcs says whether the Go scheduler should get one processor more
// than the hashes can hold while other requests contend with them, and the
// two counts it moves between: the runtime's (a processor per core) and
// password.max_concurrency + 1. A hash keeps its processor for all of its
// ~20 ms (Go preempts a running goroutine after 10 ms), so with every
// processor hashing, a request that arrives waits in Go's run queue for
// that preemption; with one processor more it runs at once and the kernel
// shares the cores between it and the hashes at its finer grain. That
// extra processor costs the hashes themselves ~12 % (measured: CPU per
// login 1-5 % over a bare verification with as many processors as cores,
// 13-17 % with one more), so it is there only while needed (see
// followForeground). Not when the operator set GOMAXPROCS, nor under a CPU
// limit below the machine's cores (a container's quota, which Go's default
// GOMAXPROCS follows): threads beyond the quota would be throttled, a worse
// wait than the run queue's.
func extraProcs(cfg config.Password, getenv func(string) string) (base, raised int, ok bool) {
	base = runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" || base < runtime.NumCPU() || cfg.MaxConcurrency+1 <= base {
		return base, base, false
	}
	return base, cfg.MaxConcurrency + 1, true
}

// followForeground runs until ctx ends: every sample it looks whether a
// request other than the hashes is in flight while a hashing one is too
// (fg.Contended), and sets the scheduler's processors (set:
// runtime.GOMAXPROCS in serve) to raised once raiseAfter samples in a row
// found them, back to base once lowerAfter in a row did not. Without
// hashes there is nothing to make room for, and the extra processor would
// only oversubscribe the cores (SQLite's reads, which run their queries in
// this process, were ~5 % faster against (g3) with a processor per core).
// Sampling, not reacting to every request, is what keeps a login flood
// alone at a processor per core: a login counts as foreground for the
// microseconds between its arrival and its place in the hash queue, which
// a sample almost never sees twice in a row. Each change stops the world
// for ~0.3 ms; lowerAfter bounds them to a few a second.
func followForeground(ctx context.Context, fg interface{ Contended() bool }, base, raised int, sample time.Duration, set func(int) int, log *slog.Logger) {
	const raiseAfter, lowerAfter = 2, 10
	t := time.NewTicker(sample)
	defer t.Stop()
	up, streak := false, 0
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if fg.Contended() == up {
			streak = 0
			continue
		}
		if streak++; up && streak < lowerAfter || !up && streak < raiseAfter {
			continue
		}
		up, streak = !up, 0
		n := base
		if up {
			n = raised
		}
		set(n)
		log.Debug("scheduler processors follow the foreground", "gomaxprocs", n)
	}
}

// procsSample is how often followForeground looks: a flood of reads gets
// its processor within ~50 ms and keeps it until 250 ms after the last.
const procsSample = 25 * time.Millisecond
