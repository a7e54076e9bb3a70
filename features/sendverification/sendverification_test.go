package sendverification

import (
	"context"
	"errors"
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

func TestSendVerification(t *testing.T) {
	f := &fakeStore{}
	now := t0
	i := New(f, &f.Outbox, onetime.Links{VerificationURL: "http://app/#token={token}", VerificationTTL: time.Hour}, func() time.Time { return now })
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
