package listusersessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users map[string]user.User
	reads int
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (user.User, error) {
	f.reads++
	if u, ok := f.users[name]; ok {
		return u, nil
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) UserSessions(context.Context, uuid.UUID, time.Time) ([]session.Session, error) {
	return []session.Session{{}}, nil
}

func TestListUserSessions(t *testing.T) {
	f := &fakeStore{users: map[string]user.User{
		"plain.user": {ID: user.NewID(), Role: user.RoleUser},
		"an.admin":   {ID: user.NewID(), Role: user.RoleAdmin},
	}}
	i := New(f, time.Now)
	ctx := context.Background()
	admin := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}
	plain := auth.Actor{User: f.users["plain.user"], SessionID: []byte{1}}
	if _, err := i.Execute(ctx, plain, Input{Username: "bad"}); !errors.Is(err, auth.ErrForbidden) || f.reads != 0 {
		t.Fatalf("a user (403 before 422 and the lookup): %v", err)
	}
	if _, err := i.Execute(ctx, admin, Input{Username: "x", Unknown: []string{"all"}}); !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("bad input: %v", err)
	}
	if _, err := i.Execute(ctx, admin, Input{Username: "nobody.here"}); !errors.Is(err, user.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := i.Execute(ctx, admin, Input{Username: "an.admin"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a peer: %v", err)
	}
	if ss, err := i.Execute(ctx, admin, Input{Username: "plain.user"}); err != nil || len(ss) != 1 {
		t.Fatalf("a user below: %v, %v", ss, err)
	}
}
