package revokeuserapikeys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	audittest.Trail
	users map[string]user.User
	keys  map[uuid.UUID]uuid.UUID // key id -> user id
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (user.User, error) {
	if u, ok := f.users[name]; ok {
		return u, nil
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) DeleteUserAPIKey(_ context.Context, userID, id uuid.UUID) error {
	if f.keys[id] != userID {
		return apikey.ErrNotFound
	}
	delete(f.keys, id)
	return nil
}

func (f *fakeStore) DeleteUserAPIKeys(_ context.Context, userID uuid.UUID) (int, error) {
	n := 0
	for id, owner := range f.keys {
		if owner == userID {
			delete(f.keys, id)
			n++
		}
	}
	return n, nil
}

func TestRevokeUserKeys(t *testing.T) {
	target := user.User{ID: user.NewID(), Role: user.RoleUser}
	peer := user.User{ID: user.NewID(), Role: user.RoleAdmin}
	k1, k2, k3, peers := uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4())
	f := &fakeStore{users: map[string]user.User{"plain.user": target, "an.admin": peer},
		keys: map[uuid.UUID]uuid.UUID{k1: target.ID, k2: target.ID, k3: target.ID, peers: peer.ID}}
	i := New(f, time.Now)
	admin := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}
	for name, c := range map[string]struct {
		actor auth.Actor
		in    Input
		want  error
	}{
		"a user":          {auth.Actor{User: target, SessionID: []byte{1}}, Input{Username: "an.admin"}, auth.ErrForbidden},
		"bad name":        {admin, Input{Username: "-x"}, apperr.ErrInvalid},
		"bad id":          {admin, Input{Username: "plain.user", ID: "cs_x"}, apperr.ErrInvalid},
		"unknown user":    {admin, Input{Username: "nobody.here"}, user.ErrNotFound},
		"a peer":          {admin, Input{Username: "an.admin"}, auth.ErrForbidden},
		"a peer's key":    {admin, Input{Username: "plain.user", ID: peers.String()}, apikey.ErrNotFound},
		"an unknown key":  {admin, Input{Username: "plain.user", ID: uuid.Must(uuid.NewV4()).String()}, apikey.ErrNotFound},
		"a peer by a key": {auth.Actor{User: admin.User, APIKey: uuid.Must(uuid.NewV4())}, Input{Username: "an.admin"}, auth.ErrForbidden},
	} {
		if _, err := i.Execute(context.Background(), c.actor, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if len(f.keys) != 4 || len(f.Events) != 0 {
		t.Fatal("a refused request revoked keys or recorded an event")
	}
	if n, err := i.Execute(context.Background(), admin, Input{Username: "plain.user", ID: k1.String()}); err != nil || n != 1 {
		t.Fatalf("one key: %d, %v", n, err)
	}
	if n, err := i.Execute(context.Background(), admin, Input{Username: "plain.user"}); err != nil || n != 2 {
		t.Fatalf("the rest: %d, %v", n, err)
	}
	if n, err := i.Execute(context.Background(), admin, Input{Username: "plain.user"}); err != nil || n != 0 {
		t.Fatalf("again: %d, %v", n, err)
	}
	if len(f.keys) != 1 || len(f.Events) != 2 {
		t.Fatalf("%d keys left, %d events", len(f.keys), len(f.Events))
	}
	for k, want := range []map[string]any{{"reason": "admin", "revoked": 1, "key": k1.String()}, {"reason": "admin", "revoked": 2}} {
		e := f.Events[k]
		if e.Type != audit.APIKeyRevoked || e.Actor.ID != admin.User.ID || e.Target.ID != target.ID || len(e.Details) != len(want) {
			t.Fatalf("event %d: %+v", k, e)
		}
		for name, v := range want {
			if e.Details[name] != v {
				t.Fatalf("event %d: details %v, want %v", k, e.Details, want)
			}
		}
	}
}
