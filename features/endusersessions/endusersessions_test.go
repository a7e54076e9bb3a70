package endusersessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit/audittest"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct {
	users   map[string]user.User
	deleted []uuid.UUID
	audittest.Trail
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (user.User, error) {
	if u, ok := f.users[name]; ok {
		return u, nil
	}
	return user.User{}, user.ErrNotFound
}

func (f *fakeStore) DeleteUserSessions(_ context.Context, id uuid.UUID) (int, error) {
	f.deleted = append(f.deleted, id)
	return 2, nil
}

func TestEndUserSessions(t *testing.T) {
	target := user.User{ID: user.NewID(), Role: user.RoleUser}
	f := &fakeStore{users: map[string]user.User{"plain.user": target, "an.admin": {ID: user.NewID(), Role: user.RoleAdmin}}}
	i := New(f, time.Now)
	ctx := context.Background()
	admin := auth.Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}
	for name, c := range map[string]struct {
		actor auth.Actor
		in    Input
		want  error
	}{
		"a user":       {auth.Actor{User: target, SessionID: []byte{1}}, Input{Username: "an.admin"}, auth.ErrForbidden},
		"bad name":     {admin, Input{Username: "-x"}, apperr.ErrInvalid},
		"unknown user": {admin, Input{Username: "nobody.here"}, user.ErrNotFound},
		"a peer":       {admin, Input{Username: "an.admin"}, auth.ErrForbidden},
	} {
		if _, err := i.Execute(ctx, c.actor, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if len(f.deleted) != 0 || len(f.Events) != 0 {
		t.Fatal("a refused request deleted sessions or recorded an event")
	}
	if n, err := i.Execute(ctx, admin, Input{Username: "plain.user"}); err != nil || n != 2 || f.deleted[0] != target.ID {
		t.Fatalf("Execute = %d, %v", n, err)
	}
	if len(f.Events) != 1 || f.Ended(session.EndedByAdmin) != 2 || f.Events[0].Actor.ID != admin.User.ID || f.Events[0].Target.ID != target.ID {
		t.Fatalf("events %+v, want one session.ended (admin, 2) by the admin of the target", f.Events)
	}
}
