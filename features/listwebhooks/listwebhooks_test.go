package listwebhooks

import (
	"context"
	"errors"
	"testing"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
	"github.com/cleanslice/cleanslice/shared/webhook/webhooktest"
)

func TestList(t *testing.T) {
	store := webhooktest.New()
	e := webhook.Endpoint{ID: user.NewID(), URL: "https://a.example.com/"}
	store.Endpoints[e.ID] = e
	i := New(store)
	for _, role := range []user.Role{user.RoleUser, user.RoleAdmin} {
		if _, err := i.Execute(context.Background(), auth.Actor{User: user.User{ID: user.NewID(), Role: role}, SessionID: []byte{1}}); !errors.Is(err, auth.ErrForbidden) {
			t.Fatalf("%s: %v", role, err)
		}
	}
	got, err := i.Execute(context.Background(), auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleSuperAdmin}, SessionID: []byte{1}})
	if err != nil || len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("list %+v, %v", got, err)
	}
}
