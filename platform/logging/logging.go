// Package logging builds the service's slog logger. Lines go through a
// buffer flushed every 100 ms, at every warning or error, and at shutdown,
// so an info line per request costs no write system call of its own.
package logging

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// FlushInterval bounds how long an info line may sit in the buffer.
const FlushInterval = 100 * time.Millisecond

// Output is a buffered, concurrency-safe writer flushed periodically.
type Output struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewOutput buffers w and flushes it every interval until Close.
func NewOutput(w io.Writer, interval time.Duration) *Output {
	o := &Output{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
				_ = o.Flush()
			}
		}
	}()
	return o
}

// Write buffers p; slog handlers write one whole line per call.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Write(p)
}

// Flush writes out what is buffered.
func (o *Output) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Flush()
}

// Close stops the periodic flush and flushes a last time.
func (o *Output) Close() error {
	close(o.stop)
	<-o.done
	return o.Flush()
}

// New returns a logger writing text or JSON lines at level to out.
// Warnings and errors are flushed at once.
func New(level, format string, out *Output) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config; unknown means info
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(out, opts)
	if format == "json" {
		h = slog.NewJSONHandler(out, opts)
	}
	return slog.New(flushing{Handler: h, out: out})
}

// flushing flushes the output after every warning or error.
type flushing struct {
	slog.Handler
	out *Output
}

func (f flushing) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := f.out.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (f flushing) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushing{Handler: f.Handler.WithAttrs(attrs), out: f.out}
}

func (f flushing) WithGroup(name string) slog.Handler {
	return flushing{Handler: f.Handler.WithGroup(name), out: f.out}
}
