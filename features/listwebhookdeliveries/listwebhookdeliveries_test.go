package listwebhookdeliveries

import (
	"context"
	"errors"
	"testing"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/cursor"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
	"github.com/cleanslice/cleanslice/shared/webhook/webhooktest"
)

func TestPages(t *testing.T) {
	store := webhooktest.New()
	a, b := webhook.Endpoint{ID: user.NewID()}, webhook.Endpoint{ID: user.NewID()}
	store.Endpoints[a.ID], store.Endpoints[b.ID] = a, b
	for range 5 {
		store.Deliveries = append(store.Deliveries, webhooktest.Delivery{Delivery: webhook.Delivery{ID: user.NewID()}, Endpoint: a.ID})
	}
	store.Deliveries = append(store.Deliveries, webhooktest.Delivery{Delivery: webhook.Delivery{ID: user.NewID()}, Endpoint: b.ID})
	i := New(store)
	ctx := context.Background()
	root := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleSuperAdmin}, SessionID: []byte{1}}
	if _, err := i.Execute(ctx, auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}, Input{Endpoint: a.ID.String()}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
	var seen []string
	in := Input{Endpoint: a.ID.String(), Limit: "2"}
	for range 3 {
		res, err := i.Execute(ctx, root, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Deliveries {
			seen = append(seen, d.ID.String())
		}
		if in.Cursor = res.NextCursor; in.Cursor == "" {
			break
		}
	}
	if len(seen) != 5 || seen[0] != store.Deliveries[4].ID.String() || seen[4] != store.Deliveries[0].ID.String() || in.Cursor != "" {
		t.Fatalf("pages gave %v, last cursor %q", seen, in.Cursor)
	}
	// Bad parameters, all at once; a cursor of another endpoint is one.
	other := cursor.Encode(b.ID.String(), store.Deliveries[2].ID.String())
	_, err := i.Execute(ctx, root, Input{Endpoint: a.ID.String(), Limit: "0", Cursor: other})
	if e, ok := apperr.As(err); !ok || len(e.Fields) != 2 {
		t.Fatalf("bad parameters: %v", err)
	}
	if _, err := i.Execute(ctx, root, Input{Endpoint: user.NewID().String()}); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("an unknown endpoint: %v", err)
	}
}
