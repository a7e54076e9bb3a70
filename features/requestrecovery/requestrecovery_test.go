package requestrecovery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/onetime/onetimetest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users []user.User
	audittest.Trail
	authtest.Attempts
	onetimetest.Outbox
}

func (f *fakeStore) UserByEmail(_ context.Context, email string) (user.User, error) {
	for _, u := range f.users {
		if strings.EqualFold(u.Email, email) {
			return u, nil
		}
	}
	return user.User{}, user.ErrNotFound
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func setup() (*Interactor, *fakeStore) {
	f := &fakeStore{users: []user.User{
		{ID: user.NewID(), Username: "valid", Email: "valid@example.com", EmailVerifiedAt: t0, IsActive: true},
		{ID: user.NewID(), Username: "unverified", Email: "unverified@example.com", IsActive: true},
		{ID: user.NewID(), Username: "inactive", Email: "inactive@example.com", EmailVerifiedAt: t0},
	}}
	links := onetime.Links{RecoveryURL: "http://app/recover#token={token}", RecoveryTTL: time.Hour}
	return New(f, &f.Outbox, links, Limits{PerIP: 3, Window: time.Minute, PerAddress: 2, Key: []byte("k")}, func() time.Time { return t0 }), f
}

// drain does the queued requests' work, as Run does.
func drain(i *Interactor) {
	for {
		select {
		case r := <-i.requests:
			i.do(context.Background(), r, func(err error) { panic(err) })
		default:
			return
		}
	}
}

func TestOnlyAVerifiedActiveAddressIsMailed(t *testing.T) {
	i, f := setup()
	ctx := context.Background()
	for _, email := range []string{"nobody@example.com", "unverified@example.com", "inactive@example.com", "VALID@example.com"} {
		if err := i.Execute(ctx, Input{Email: email, ClientIP: "198.51.100." + email[:1]}); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	if len(f.Messages) != 0 {
		t.Fatal("work was done on the request path")
	}
	drain(i)
	if len(f.Messages) != 1 || f.Messages[0].To != "valid@example.com" || f.Messages[0].Template != "recovery" || len(f.Tokens) != 1 ||
		f.Tokens[0].Purpose != onetime.Recovery || len(f.Events) != 1 || f.Events[0].Type != audit.RecoveryRequested {
		t.Fatalf("messages %+v, tokens %+v, events %+v", f.Messages, f.Tokens, f.Events)
	}
	for key := range f.Windows {
		if strings.Contains(key, "example.com") {
			t.Fatalf("an address is stored in a window key: %q", key)
		}
	}
}

func TestLimits(t *testing.T) {
	i, f := setup()
	ctx := context.Background()
	if err := i.Execute(ctx, Input{Email: "not an address"}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("malformed: %v", err)
	}
	for range 3 {
		if err := i.Execute(ctx, Input{Email: "valid@example.com", ClientIP: "2001:db8::1"}); err != nil {
			t.Fatal(err)
		}
	}
	err := i.Execute(ctx, Input{Email: "nobody@example.com", ClientIP: "2001:db8::2"})
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindTooManyRequests {
		t.Fatalf("fourth from the /64: %v", err)
	}
	drain(i)
	if len(f.Messages) != 2 {
		t.Fatalf("%d messages for 3 requests with a cap of 2", len(f.Messages))
	}
}
