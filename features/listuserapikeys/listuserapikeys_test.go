package listuserapikeys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users map[string]user.User
	keys  map[uuid.UUID][]apikey.Key
	reads int
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (user.User, error) {
	if u, ok := f.users[name]; ok {
		return u, nil
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) UserAPIKeys(_ context.Context, userID uuid.UUID, _ time.Time) ([]apikey.Key, error) {
	f.reads++
	return f.keys[userID], nil
}

func TestListUserKeys(t *testing.T) {
	target := user.User{ID: user.NewID(), Role: user.RoleUser}
	peer := user.User{ID: user.NewID(), Role: user.RoleAdmin}
	f := &fakeStore{users: map[string]user.User{"plain.user": target, "an.admin": peer},
		keys: map[uuid.UUID][]apikey.Key{target.ID: {{ID: uuid.Must(uuid.NewV4())}}, peer.ID: {{ID: uuid.Must(uuid.NewV4())}}}}
	i := New(f, time.Now)
	admin := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}
	for name, c := range map[string]struct {
		actor auth.Actor
		in    Input
		want  error
	}{
		"a user":            {auth.Actor{User: target, SessionID: []byte{1}}, Input{Username: "plain.user"}, auth.ErrForbidden},
		"anonymous":         {auth.Actor{}, Input{Username: "plain.user"}, auth.ErrNotAuthenticated},
		"bad name":          {admin, Input{Username: "-x"}, apperr.ErrInvalid},
		"unknown parameter": {admin, Input{Username: "plain.user", Unknown: []string{"id"}}, apperr.ErrInvalid},
		"unknown user":      {admin, Input{Username: "nobody.here"}, user.ErrNotFound},
		"a peer":            {admin, Input{Username: "an.admin"}, auth.ErrForbidden},
	} {
		if _, err := i.Execute(context.Background(), c.actor, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if f.reads != 0 {
		t.Fatal("a refused request read keys")
	}
	// An admin's key lists too: a back-office script.
	viaKey := auth.Actor{User: admin.User, APIKey: uuid.Must(uuid.NewV4())}
	for _, a := range []auth.Actor{admin, viaKey} {
		if keys, err := i.Execute(context.Background(), a, Input{Username: "plain.user"}); err != nil || len(keys) != 1 {
			t.Fatalf("Execute = %v, %v", keys, err)
		}
	}
}
