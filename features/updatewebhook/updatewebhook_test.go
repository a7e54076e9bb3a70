package updatewebhook

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

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

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	store := &fakeStore{Endpoints: webhooktest.New()}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	e := webhook.Endpoint{ID: user.NewID(), URL: "https://a.example.com/", Events: []string{"login.failed"}, Description: "a", Enabled: false, CreatedAt: t0, UpdatedAt: t0}
	store.Endpoints.Endpoints[e.ID] = e
	hasher := &authtest.Hasher{}
	i := New(store, hasher, auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}, webhook.Targets{HTTPSOnly: true}, func() time.Time { return t0.Add(time.Hour) })
	ctx := context.Background()
	root := auth.Actor{User: user.User{ID: user.NewID(), Username: "root.admin", PasswordHash: "hash:pw", Role: user.RoleSuperAdmin}, SessionID: []byte{1}}
	id := e.ID.String()

	// Events, description, enabled: no password, one event naming them.
	got, err := i.Execute(ctx, root, Input{ID: id, Events: &[]string{"user.created", "login.failed"}, Description: ptr("b"), Enabled: ptr(true)})
	if err != nil || !slices.Equal(got.Events, []string{"login.failed", "user.created"}) || got.Description != "b" || !got.Enabled || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("update %+v, %v", got, err)
	}
	if ev := store.Events[len(store.Events)-1]; ev.Type != audit.WebhookUpdated || !slices.Equal(ev.Details["changed"].([]string), []string{"events", "description", "enabled"}) || hasher.Verifies != 0 {
		t.Fatalf("event %+v, %d password checks", ev, hasher.Verifies)
	}
	// The same values again, and the same URL without a password: no
	// change, no event.
	n := len(store.Events)
	if _, err := i.Execute(ctx, root, Input{ID: id, URL: ptr(e.URL), Description: ptr("b")}); err != nil || len(store.Events) != n {
		t.Fatalf("a no-op: %v, %d events", err, len(store.Events)-n)
	}
	// A new URL needs the password.
	_, err = i.Execute(ctx, root, Input{ID: id, URL: ptr("https://b.example.com/")})
	if ae, ok := apperr.As(err); !ok || len(ae.Fields) != 1 || ae.Fields[0].Field != "current_password" {
		t.Fatalf("a new URL without the password: %v", err)
	}
	if _, err := i.Execute(ctx, root, Input{ID: id, URL: ptr("https://b.example.com/"), CurrentPassword: "nope"}); !errors.Is(err, auth.ErrWrongPassword) {
		t.Fatalf("a wrong password: %v", err)
	}
	if store.Endpoints.Endpoints[e.ID].URL != e.URL || store.Events[len(store.Events)-1].Details["action"] != Action {
		t.Fatalf("after a wrong password: %+v, %v", store.Endpoints.Endpoints[e.ID], store.Types())
	}
	got, err = i.Execute(ctx, root, Input{ID: id, URL: ptr("https://b.example.com/"), CurrentPassword: "pw"})
	if err != nil || got.URL != "https://b.example.com/" {
		t.Fatalf("a new URL: %+v, %v", got, err)
	}
	// Bad fields, all at once; an unknown or malformed id is 404 first.
	_, err = i.Execute(ctx, root, Input{ID: id, URL: ptr("http://c.example.com/"), Events: &[]string{}, CurrentPassword: "pw"})
	if ae, ok := apperr.As(err); !ok || len(ae.Fields) != 2 {
		t.Fatalf("bad fields: %v", err)
	}
	for _, bad := range []string{"nope", user.NewID().String()} {
		if _, err := i.Execute(ctx, root, Input{ID: bad, URL: ptr("http://c.example.com/")}); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("id %s: %v", bad, err)
		}
	}
	if _, err := i.Execute(ctx, auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}, Input{ID: id}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
}
