package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// TestHierarchy is exhaustive over every pair of roles, unknown included.
func TestHierarchy(t *testing.T) {
	const (
		U = user.RoleUser
		A = user.RoleAdmin
		S = user.RoleSuperAdmin
		X = user.Role("root") // unknown
	)
	roles := []user.Role{U, A, S, X}
	canManage := map[[2]user.Role]bool{
		{A, U}: true,
		{S, U}: true, {S, A}: true,
	}
	for _, actor := range roles {
		for _, target := range roles {
			want := canManage[[2]user.Role{actor, target}]
			if got := CanManage(actor, target); got != want {
				t.Errorf("CanManage(%s, %s) = %v, want %v", actor, target, got, want)
			}
			if got := CanAssign(actor, target); got != want {
				t.Errorf("CanAssign(%s, %s) = %v, want %v", actor, target, got, want)
			}
		}
	}
	for role, want := range map[user.Role]bool{U: false, A: true, S: true, X: false} {
		if got := CanAdminister(role); got != want {
			t.Errorf("CanAdminister(%s) = %v, want %v", role, got, want)
		}
	}
}

func TestActorInContext(t *testing.T) {
	if ActorFrom(context.Background()).Authenticated() {
		t.Fatal("an empty context has an authenticated actor")
	}
	a := Actor{User: user.User{Username: "alice"}, SessionID: []byte{1}}
	got := ActorFrom(WithActor(context.Background(), a))
	if !got.Authenticated() || got.User.Username != "alice" {
		t.Fatalf("ActorFrom = %+v", got)
	}
}

func TestTooManyAttemptsMatchesItself(t *testing.T) {
	if !errors.Is(ErrTooManyAttempts(5), ErrTooManyAttempts(0)) {
		t.Fatal("throttling errors with different waits do not match")
	}
}

func TestRequireAndCheckTarget(t *testing.T) {
	admin := Actor{User: user.User{ID: user.NewID(), Role: user.RoleAdmin}, SessionID: []byte{1}}
	if err := Require(Actor{}, user.RoleUser); !errors.Is(err, ErrNotAuthenticated) {
		t.Errorf("anonymous: %v", err)
	}
	if err := Require(admin, user.RoleSuperAdmin); !errors.Is(err, ErrForbidden) {
		t.Errorf("admin needing super_admin: %v", err)
	}
	if err := Require(admin, user.RoleAdmin); err != nil {
		t.Errorf("admin needing admin: %v", err)
	}
	if err := CheckTarget(admin, admin.User); !errors.Is(err, ErrForbidden) {
		t.Errorf("self: %v", err)
	}
	if err := CheckTarget(admin, user.User{ID: user.NewID(), Role: user.RoleAdmin}); !errors.Is(err, ErrForbidden) {
		t.Errorf("peer: %v", err)
	}
	if err := CheckTarget(admin, user.User{ID: user.NewID(), Role: user.RoleUser}); err != nil {
		t.Errorf("user below: %v", err)
	}
}

type targets map[string]user.User

func (t targets) UserByUsername(_ context.Context, name string) (user.User, error) {
	if u, ok := t[name]; ok {
		return u, nil
	}
	return user.User{}, user.ErrNotFound
}

// TestTarget: the checks of every admin scenario that names a user, in
// their order.
func TestTarget(t *testing.T) {
	admin := Actor{User: user.User{ID: user.NewID(), Username: "ada.admin", Role: user.RoleAdmin}, SessionID: []byte{1}}
	store := targets{
		"bob.user":  {ID: user.NewID(), Username: "bob.user", Role: user.RoleUser},
		"eve.admin": {ID: user.NewID(), Username: "eve.admin", Role: user.RoleAdmin},
		"ada.admin": admin.User,
	}
	plain := Actor{User: store["bob.user"], SessionID: []byte{2}}
	for _, c := range []struct {
		name     string
		actor    Actor
		username string
		unknown  []string
		want     error
	}{
		{"a caller below admin", plain, "bob.user", nil, ErrForbidden},
		{"a bad username", admin, "x", nil, apperr.ErrInvalid},
		{"an unknown parameter", admin, "bob.user", []string{"user"}, apperr.ErrInvalid},
		{"an unknown user", admin, "nobody.here", nil, user.ErrNotFound},
		{"a peer", admin, "eve.admin", nil, ErrForbidden},
		{"oneself", admin, "ada.admin", nil, ErrForbidden},
		{"a lower-ranked user", admin, "bob.user", nil, nil},
	} {
		u, err := Target(context.Background(), store, c.actor, c.username, c.unknown)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && u.Username != c.username {
			t.Errorf("%s: %+v", c.name, u)
		}
	}
}
