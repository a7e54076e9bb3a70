package postgres

import (
	"net"
	"testing"
	"time"
)

// deadlineConn records the deadlines set on it; reads and writes succeed.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error { c.set = append(c.set, t); return nil }
func (c *deadlineConn) Write(b []byte) (int, error)   { return len(b), nil }
func (c *deadlineConn) Read(b []byte) (int, error)    { return len(b), nil }

// TestWatchdogDeadline: every write and read leaves the server between 7/8
// of the timeout and the timeout to answer, the socket's deadline moves
// only when it has fallen behind, and a deadline lib/pq sets itself (its
// connect timeout, then none) makes the next write arm the watchdog again.
func TestWatchdogDeadline(t *testing.T) {
	const timeout = time.Minute
	inner := &deadlineConn{}
	c := &watchdogConn{Conn: inner, timeout: timeout}
	check := func(what string) {
		t.Helper()
		now := time.Now()
		if len(inner.set) == 0 {
			t.Fatalf("%s: no deadline set", what)
		}
		d := inner.set[len(inner.set)-1].Sub(now)
		if d > timeout || d < timeout-timeout/8 {
			t.Fatalf("%s: the server has %s to answer, want between %s and %s", what, d, timeout-timeout/8, timeout)
		}
	}
	for range 1000 {
		if _, err := c.Write([]byte("query")); err != nil {
			t.Fatal(err)
		}
		check("write")
		if _, err := c.Read(make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
		check("read")
	}
	if len(inner.set) != 1 {
		t.Fatalf("1000 exchanges well inside the timeout set %d deadlines, want 1", len(inner.set))
	}

	// lib/pq clears the deadline after start-up.
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("query"))
	if len(inner.set) != 3 {
		t.Fatalf("after lib/pq's own deadline: %d deadlines set, want 3 (the first, lib/pq's, the re-armed)", len(inner.set))
	}
	check("write after lib/pq's deadline")

	// A deadline fallen more than an eighth behind is moved.
	c.deadline = time.Now().Add(timeout - timeout/8 - time.Second)
	c.Write([]byte("query"))
	if len(inner.set) != 4 {
		t.Fatalf("a stale deadline was not moved: %d deadlines set, want 4", len(inner.set))
	}
	check("write after a stale deadline")
}
