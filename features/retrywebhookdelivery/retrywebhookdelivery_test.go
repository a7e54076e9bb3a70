package retrywebhookdelivery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
	"github.com/cleanslice/cleanslice/shared/webhook/webhooktest"
)

func TestRetry(t *testing.T) {
	store := webhooktest.New()
	a, b := user.NewID(), user.NewID()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	store.Deliveries = []webhooktest.Delivery{{Delivery: webhook.Delivery{ID: user.NewID(), GivenUpAt: t0}, Endpoint: a}}
	d := store.Deliveries[0].ID.String()
	now := t0.Add(time.Hour)
	i := New(store, func() time.Time { return now })
	ctx := context.Background()
	root := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleSuperAdmin}, SessionID: []byte{1}}
	if err := i.Execute(ctx, auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}, Input{a.String(), d}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
	for _, in := range []Input{{b.String(), d}, {a.String(), user.NewID().String()}, {a.String(), "x"}, {"x", d}} {
		if err := i.Execute(ctx, root, in); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("%+v: %v", in, err)
		}
	}
	if err := i.Execute(ctx, root, Input{a.String(), d}); err != nil {
		t.Fatal(err)
	}
	if got := store.Deliveries[0]; !got.GivenUpAt.IsZero() || !got.NextAttemptAt.Equal(now) {
		t.Fatalf("after the retry %+v", got)
	}
}
