package createuser

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type fakeStore struct{ users []user.User }

func (f *fakeStore) InsertUser(_ context.Context, u user.User) error {
	f.users = append(f.users, u)
	return nil
}

type fakeHasher struct{}

func (fakeHasher) Hash(_ context.Context, pw string) (string, error) { return "hash:" + pw, nil }

func actor(r user.Role) auth.Actor {
	return auth.Actor{User: user.User{ID: user.NewID(), Role: r}, SessionID: []byte{1}}
}

func TestCreateUserRoles(t *testing.T) {
	tests := []struct {
		actor user.Role
		role  string
		want  error
	}{
		{user.RoleUser, "user", auth.ErrForbidden},
		{user.RoleAdmin, "user", nil},
		{user.RoleAdmin, "admin", auth.ErrForbidden},
		{user.RoleAdmin, "super_admin", auth.ErrForbidden},
		{user.RoleSuperAdmin, "admin", nil},
		{user.RoleSuperAdmin, "super_admin", auth.ErrForbidden},
		{user.RoleSuperAdmin, "root", apperr.ErrInvalid},
	}
	for _, tc := range tests {
		f := &fakeStore{}
		u, err := New(f, fakeHasher{}, 8, time.Now).Execute(context.Background(), actor(tc.actor), Input{Username: "new.user", Password: "password1", Role: tc.role})
		if tc.want == nil {
			if err != nil || len(f.users) != 1 || string(u.Role) != tc.role || u.PasswordHash != "hash:password1" || !u.IsActive {
				t.Errorf("%s creating %s: %+v, %v", tc.actor, tc.role, u, err)
			}
			continue
		}
		if !errors.Is(err, tc.want) || len(f.users) != 0 {
			t.Errorf("%s creating %s: %v, want %v (%d stored)", tc.actor, tc.role, err, tc.want, len(f.users))
		}
	}
}
