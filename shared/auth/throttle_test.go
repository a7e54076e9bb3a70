package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
)

// liveStore is the fake windows, refusing calls whose context has ended,
// as a database does.
type liveStore struct{ authtest.Attempts }

func (s *liveStore) ReleaseAttempt(ctx context.Context, key string, start time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Attempts.ReleaseAttempt(ctx, key, start)
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var guard = auth.Guard{PerUser: 2, PerIP: 3, Window: time.Minute, Key: []byte("k")}

// TestFullWindowCountsNothing: when one window is full the attempt is
// refused with the wait of that window, and the other window keeps no
// count of it.
func TestFullWindowCountsNothing(t *testing.T) {
	s := &liveStore{}
	ctx := context.Background()
	for range 2 {
		if _, err := guard.Reserve(ctx, s, t0, "alice", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := guard.Reserve(ctx, s, t0.Add(20*time.Second), "alice", "192.0.2.1")
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != 40*time.Second {
		t.Fatalf("third attempt: %v", err)
	}
	if n := s.Count("ip:192.0.2.1"); n != 2 {
		t.Fatalf("the client's window holds %d, want 2: the refused attempt stayed counted", n)
	}
}

// TestCancelledAttemptIsGivenBack: a client that goes away while its
// attempt waits (a cancelled request) leaves nothing counted.
func TestCancelledAttemptIsGivenBack(t *testing.T) {
	s := &liveStore{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := guard.Reserve(ctx, s, t0, "alice", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := a.Abandon(ctx, context.Canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Abandon = %v, want the cause", err)
	}
	if n, m := s.Count(guard.UserKey("alice")), s.Count("ip:192.0.2.1"); n != 0 || m != 0 {
		t.Fatalf("after a cancelled attempt the windows hold %d and %d", n, m)
	}
}

func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::1":         "2001:db8:1:2::/64",
		"fe80::1%eth0":            "fe80::/64",
		"not an address":          "not an address",
		"2001:db8:1:3:ffff::ffff": "2001:db8:1:3::/64",
	} {
		if got := auth.ClientNetwork(in); got != want {
			t.Errorf("ClientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
