package createwebhook

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/auth/authtest"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
	"github.com/cleanslice/cleanslice/shared/webhook/webhooktest"
)

type fakeStore struct {
	*webhooktest.Endpoints
	authtest.Attempts
	authtest.Sessions
}

// sealer "seals" a secret as the endpoint's id and the secret.
type sealer struct{}

func (sealer) SealWebhookSecret(id uuid.UUID, secret string) []byte {
	return []byte(id.String() + "|" + secret)
}

func actor(role user.Role) auth.Actor {
	return auth.Actor{User: user.User{ID: user.NewID(), Username: "root.admin", PasswordHash: "hash:pw", Role: role}, SessionID: []byte{1}}
}

var guard = auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}

func TestCreate(t *testing.T) {
	store := &fakeStore{Endpoints: webhooktest.New()}
	i := New(store, sealer{}, &authtest.Hasher{}, guard, webhook.Targets{HTTPSOnly: true}, time.Now)
	ctx := context.Background()
	root := actor(user.RoleSuperAdmin)
	good := Input{URL: "https://hooks.example.com/in", Events: []string{"user.created", "login.failed"}, Description: "crm", CurrentPassword: "pw"}

	e, secret, err := i.Execute(ctx, root, good)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(secret), "whsec_") || !e.Enabled || e.URL != good.URL || !slices.Equal(e.Events, []string{"login.failed", "user.created"}) || e.Description != "crm" {
		t.Fatalf("created %+v, secret %q", e, secret)
	}
	if got := store.Secrets[e.ID]; len(got) != 1 || string(got[0]) != e.ID.String()+"|"+string(secret) {
		t.Fatalf("stored secret %q: want it sealed for the endpoint", got)
	}
	if ev := store.Events[len(store.Events)-1]; ev.Type != audit.WebhookCreated || ev.Actor.ID != root.User.ID || ev.Details["webhook"] != e.ID.String() {
		t.Fatalf("event %+v", ev)
	}
	// Refused before the password: a non super admin, every bad field.
	if _, _, err := i.Execute(ctx, actor(user.RoleAdmin), good); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
	_, _, err = i.Execute(ctx, root, Input{URL: "http://hooks.example.com/", Events: []string{"*", "login.failed"}, Description: strings.Repeat("d", 300)})
	e2, ok := apperr.As(err)
	if !ok || len(e2.Fields) != 4 {
		t.Fatalf("bad input: %v", err)
	}
	var fields []string
	for _, f := range e2.Fields {
		fields = append(fields, f.Field)
	}
	if !slices.Equal(fields, []string{"url", "events", "description", "current_password"}) {
		t.Fatalf("fields %v", fields)
	}
	// A wrong password: recorded, nothing stored.
	wrong := good
	wrong.CurrentPassword = "nope"
	if _, _, err := i.Execute(ctx, root, wrong); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if len(store.Endpoints.Endpoints) != 1 || store.Events[len(store.Events)-1].Type != audit.ReauthenticationFailed ||
		store.Events[len(store.Events)-1].Details["action"] != Action {
		t.Fatalf("after a wrong password: %d endpoints, events %v", len(store.Endpoints.Endpoints), store.Types())
	}
	// A password replaced since the session read it: nothing stored.
	store.PasswordHash = "hash:new"
	if _, _, err := i.Execute(ctx, root, good); !errors.Is(err, auth.ErrWrongPassword) || len(store.Endpoints.Endpoints) != 1 {
		t.Fatalf("a replaced password: %v, %d endpoints", err, len(store.Endpoints.Endpoints))
	}
}
