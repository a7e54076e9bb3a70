package deletewebhook

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
	"github.com/cleanslice/cleanslice/shared/webhook/webhooktest"
)

func TestDelete(t *testing.T) {
	store := webhooktest.New()
	e := webhook.Endpoint{ID: user.NewID()}
	store.Endpoints[e.ID] = e
	i := New(store, time.Now)
	ctx := context.Background()
	root := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleSuperAdmin}, SessionID: []byte{1}}
	if err := i.Execute(ctx, auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}, e.ID.String()); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
	if err := i.Execute(ctx, root, e.ID.String()); err != nil || len(store.Endpoints) != 0 {
		t.Fatalf("delete: %v", err)
	}
	for _, id := range []string{e.ID.String(), "x"} {
		if err := i.Execute(ctx, root, id); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("delete %s again: %v", id, err)
		}
	}
	if !slices.Equal(store.Types(), []audit.Type{audit.WebhookDeleted}) || store.Events[0].Details["webhook"] != e.ID.String() {
		t.Fatalf("events %v", store.Events)
	}
}
