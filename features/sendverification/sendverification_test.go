package sendverification

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	authtest.Attempts
	onetimetest.Outbox
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var verify = onetime.Verifications{Links: onetime.Links{VerificationURL: "http://app/#token={token}", VerificationTTL: time.Hour}, Key: []byte("address key")}

func unverified(email string) auth.Actor {
	return auth.Actor{User: user.User{ID: user.NewID(), Username: "alice", Email: email}, SessionID: []byte{1}}
}

func TestSendVerification(t *testing.T) {
	f := &fakeStore{}
	now := t0
	i := New(f, &f.Outbox, verify, func() time.Time { return now })
	ctx := context.Background()
	actor := func(email string, verified bool) auth.Actor {
		u := user.User{ID: user.NewID(), Username: "alice", Email: email}
		if verified {
			u.EmailVerifiedAt = t0
		}
		return auth.Actor{User: u, SessionID: []byte{1}}
	}
	if err := i.Execute(ctx, auth.Actor{}); !errors.Is(err, auth.ErrNotAuthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	if err := i.Execute(ctx, actor("", false)); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("no address: %v", err)
	}
	if err := i.Execute(ctx, actor("a@example.com", true)); !errors.Is(err, ErrAlreadyVerified) {
		t.Fatalf("verified: %v", err)
	}
	a := actor("a@example.com", false)
	if err := i.Execute(ctx, a); err != nil || len(f.Messages) != 1 || f.Messages[0].To != "a@example.com" || len(f.Tokens) != 1 {
		t.Fatalf("send: %v, %+v", err, f.Messages)
	}
	now = t0.Add(30 * time.Second)
	err := i.Execute(ctx, a)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != 30*time.Second || len(f.Messages) != 1 {
		t.Fatalf("again within the minute: %v", err)
	}
	now = t0.Add(time.Minute)
	if err := i.Execute(ctx, a); err != nil || len(f.Messages) != 2 {
		t.Fatalf("after the minute: %v", err)
	}
}

// TestResendLimits: a resend waits a minute after the last message to the
// account, whatever sent it (here a change of address); it counts in the
// account's hourly window with every other message (429 past it), and a
// full address window refuses it too.
func TestResendLimits(t *testing.T) {
	f := &fakeStore{}
	now := t0
	i := New(f, &f.Outbox, verify, func() time.Time { return now })
	ctx := context.Background()
	a := unverified("a@example.com")
	// A change of address sends the first message.
	change, err := verify.Reserve(ctx, f, now, a.User.ID, a.User.Email)
	if err != nil {
		t.Fatal(err)
	}
	if err := change.Send(ctx, f, &f.Outbox, a.User, now); err != nil || len(f.Messages) != 1 {
		t.Fatalf("the change's message: %v, %d messages", err, len(f.Messages))
	}
	now = t0.Add(20 * time.Second)
	err = i.Execute(ctx, a)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != 40*time.Second || len(f.Messages) != 1 {
		t.Fatalf("a resend 20 s after a change's message: %v", err)
	}
	// Three more changes, to other addresses, and a resend: five messages
	// to the account, at most two to any address.
	for n := 2; n < onetime.VerificationsPerUser; n++ {
		now = now.Add(time.Minute)
		a.User.Email = fmt.Sprintf("a%d@example.com", n)
		m, err := verify.Reserve(ctx, f, now, a.User.ID, a.User.Email)
		if err != nil || m.Send(ctx, f, &f.Outbox, a.User, now) != nil || len(f.Messages) != n {
			t.Fatalf("change %d: %v, %d messages", n, err, len(f.Messages))
		}
	}
	now = now.Add(time.Minute)
	if err := i.Execute(ctx, a); err != nil || len(f.Messages) != onetime.VerificationsPerUser {
		t.Fatalf("a resend: %v, %d messages", err, len(f.Messages))
	}
	now = now.Add(time.Minute)
	err = i.Execute(ctx, a)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || e.RetryAfter != t0.Add(time.Hour).Sub(now) || len(f.Messages) != onetime.VerificationsPerUser {
		t.Fatalf("a resend past the account's limit: %v", err)
	}

	// Another account with an address others have filled the window of.
	b := unverified("Victim@Example.com")
	for range onetime.VerificationsPerAddress {
		c := unverified("victim@example.com")
		m, err := verify.Reserve(ctx, f, now, c.User.ID, c.User.Email)
		if err != nil || !m.Sends() {
			t.Fatalf("another account's message: %v, sends %v", err, m.Sends())
		}
	}
	sent, counted := len(f.Messages), total(f)
	err = i.Execute(ctx, b)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests || len(f.Messages) != sent {
		t.Fatalf("a resend to a full address: %v", err)
	}
	if total(f) != counted {
		t.Fatalf("the refused resend left %d counted", total(f)-counted)
	}
	now = now.Add(time.Hour)
	if err := i.Execute(ctx, b); err != nil || len(f.Messages) != sent+1 {
		t.Fatalf("an hour later: %v", err)
	}
}

// total is every attempt counted in every window.
func total(f *fakeStore) int {
	n := 0
	for _, w := range f.Windows {
		n += w.Attempts
	}
	return n
}
