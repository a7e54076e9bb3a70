package testwebhook

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
	"github.com/cleanslice/cleanslice/shared/webhook/webhooktest"
)

func TestQueueATest(t *testing.T) {
	store := webhooktest.New()
	e := webhook.Endpoint{ID: user.NewID(), Events: []string{"user.deleted"}}
	store.Endpoints[e.ID] = e
	i := New(store, time.Now)
	ctx := context.Background()
	root := auth.Actor{User: user.User{ID: user.NewID(), Username: "root.admin", Role: user.RoleSuperAdmin}, SessionID: []byte{1}}
	if err := i.Execute(ctx, auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}, e.ID.String()); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
	for _, id := range []string{user.NewID().String(), "x"} {
		if err := i.Execute(ctx, root, id); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("endpoint %s: %v", id, err)
		}
	}
	if err := i.Execute(ctx, root, e.ID.String()); err != nil || len(store.Deliveries) != 1 {
		t.Fatalf("test: %v, %d deliveries", err, len(store.Deliveries))
	}
	d := store.Deliveries[0]
	var body struct {
		Type string
		Data struct {
			ID      string
			Type    string
			Actor   struct{ Username string }
			Details map[string]string
		}
	}
	if err := json.Unmarshal(d.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if d.Endpoint != e.ID || d.EventType != webhook.TestEvent || body.Type != "webhook.test" || body.Data.ID != d.ID.String() ||
		body.Data.Actor.Username != "root.admin" || body.Data.Details["webhook"] != e.ID.String() {
		t.Fatalf("delivery %+v, body %s", d, d.Payload)
	}
	if len(store.Events) != 0 {
		t.Fatalf("a test recorded %v", store.Types())
	}
}
