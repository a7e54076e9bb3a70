package rotatewebhooksecret

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

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

type sealer struct{}

func (sealer) SealWebhookSecret(id uuid.UUID, secret string) []byte {
	return []byte(id.String() + "|" + secret)
}

func TestRotate(t *testing.T) {
	store := &fakeStore{Endpoints: webhooktest.New()}
	e := webhook.Endpoint{ID: user.NewID(), URL: "https://a.example.com/"}
	store.Endpoints.Endpoints[e.ID], store.Secrets[e.ID] = e, [][]byte{[]byte("old")}
	hasher := &authtest.Hasher{}
	i := New(store, sealer{}, hasher, auth.Guard{PerUser: 5, PerIP: 50, Window: time.Hour, Key: []byte("k")}, time.Now)
	ctx := context.Background()
	root := auth.Actor{User: user.User{ID: user.NewID(), Username: "root.admin", PasswordHash: "hash:pw", Role: user.RoleSuperAdmin}, SessionID: []byte{1}}

	// An unknown endpoint is 404 before the password is checked.
	if _, err := i.Execute(ctx, root, Input{ID: user.NewID().String(), CurrentPassword: "pw"}); !errors.Is(err, webhook.ErrNotFound) || hasher.Verifies != 0 {
		t.Fatalf("unknown endpoint: %v, %d checks", err, hasher.Verifies)
	}
	if _, err := i.Execute(ctx, root, Input{ID: e.ID.String(), CurrentPassword: "nope"}); !errors.Is(err, auth.ErrWrongPassword) || len(store.Secrets[e.ID]) != 1 {
		t.Fatalf("a wrong password: %v", err)
	}
	secret, err := i.Execute(ctx, root, Input{ID: e.ID.String(), CurrentPassword: "pw"})
	if err != nil || !strings.HasPrefix(string(secret), "whsec_") {
		t.Fatalf("rotate: %q, %v", secret, err)
	}
	if s := store.Secrets[e.ID]; len(s) != 2 || string(s[0]) != e.ID.String()+"|"+string(secret) || string(s[1]) != "old" {
		t.Fatalf("secrets %q: want the new one sealed, the old one kept", s)
	}
	if ev := store.Events[len(store.Events)-1]; ev.Type != audit.WebhookSecretRotated || ev.Details["webhook"] != e.ID.String() {
		t.Fatalf("event %+v", ev)
	}
	if _, err := i.Execute(ctx, auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}, Input{ID: e.ID.String(), CurrentPassword: "pw"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin: %v", err)
	}
}
