package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/shared/user"
)

const seedPassword = "password1"

// seed stores a user with seedPassword, as the CLI would.
func (a *testApp) seed(t *testing.T, name string, role user.Role) user.User {
	t.Helper()
	hash, err := newHasher(a.cfg.Password).Hash(context.Background(), seedPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := user.New(name, hash, role, a.clock.Now())
	if err := a.store.InsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// loggedIn seeds a user and returns a client logged in as it.
func (a *testApp) loggedIn(t *testing.T, name string, role user.Role) *client {
	t.Helper()
	a.seed(t, name, role)
	c := a.client()
	expect(t, "login "+name, c.login(t, name, seedPassword), 200, "")
	return c
}

// snapshot is every user row and the session count, to prove that a
// refused request changed nothing.
func (a *testApp) snapshot(t *testing.T) string {
	t.Helper()
	rows, err := a.store.DB().Query(`SELECT id || '|' || username || '|' || password_hash || '|' || role || '|' || is_active || '|' || updated_at FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n") + fmt.Sprintf("\nsessions: %d", a.count(t, "sessions"))
}

type adminAction struct {
	name, method, path string
	body               func(target string) string
}

var adminActions = []adminAction{
	{"create user", "POST", "/api/v1/users", func(n string) string {
		return fmt.Sprintf(`{"username":%q,"password":"password2","role":"user"}`, n)
	}},
	{"create admin", "POST", "/api/v1/users", func(n string) string {
		return fmt.Sprintf(`{"username":%q,"password":"password2","role":"admin"}`, n)
	}},
	{"inactivate", "PATCH", "/api/v1/users/inactivate", usernameBody},
	{"reactivate", "PATCH", "/api/v1/users/reactivate", usernameBody},
	{"grant", "PATCH", "/api/v1/users/grant", usernameBody},
	{"revoke", "PATCH", "/api/v1/users/revoke", usernameBody},
	{"set password", "PATCH", "/api/v1/users/password", func(n string) string {
		return fmt.Sprintf(`{"username":%q,"password":"password2"}`, n)
	}},
}

func usernameBody(n string) string { return fmt.Sprintf(`{"username":%q}`, n) }

// The targets, by name. "self" is the actor.
var targetNames = map[string]string{
	"self":        "the.actor",
	"user":        "target.user",
	"admin":       "target.admin",
	"other super": "other.super",
	"unknown":     "nobody.here",
}

// expectedStatus is the role matrix of SPEC section 3, in the order the
// checks run: 403 for an actor who cannot act at all, then 404, then 403
// for a target not below the actor, then the change (409 for a create
// whose name exists).
func expectedStatus(actor user.Role, target, action string) int {
	superOnly := action == "grant" || action == "revoke"
	if actor == user.RoleUser || superOnly && actor != user.RoleSuperAdmin {
		return 403
	}
	if strings.HasPrefix(action, "create") {
		if action == "create admin" && actor != user.RoleSuperAdmin {
			return 403
		}
		if target == "unknown" {
			return 201
		}
		return 409
	}
	if target == "unknown" {
		return 404
	}
	targetRole := map[string]user.Role{"self": actor, "user": user.RoleUser, "admin": user.RoleAdmin, "other super": user.RoleSuperAdmin}[target]
	if target == "self" || targetRole.Rank() >= actor.Rank() {
		return 403
	}
	if action == "set password" {
		return 204
	}
	return 200
}

func TestRoleMatrix(t *testing.T) {
	for _, engine := range dbtest.Engines {
		for _, actor := range []user.Role{user.RoleUser, user.RoleAdmin, user.RoleSuperAdmin} {
			for _, action := range adminActions {
				t.Run(engine+"/"+string(actor)+"/"+action.name, func(t *testing.T) {
					t.Parallel()
					app := newTestApp(t, engine, nil)
					c := app.loggedIn(t, "the.actor", actor)
					for _, name := range []string{"target.user", "target.admin", "other.super"} {
						app.seed(t, name, map[string]user.Role{"target.user": user.RoleUser, "target.admin": user.RoleAdmin, "other.super": user.RoleSuperAdmin}[name])
					}
					for _, target := range []string{"self", "user", "admin", "other super", "unknown"} {
						before := app.snapshot(t)
						r := c.do(t, action.method, action.path, action.body(targetNames[target]))
						want := expectedStatus(actor, target, action.name)
						if r.status != want {
							t.Errorf("%s %s %s: status %d, want %d; body %s", actor, action.name, target, r.status, want, r.body)
							continue
						}
						if want >= 400 {
							if after := app.snapshot(t); after != before {
								t.Errorf("%s %s %s: refused with %d but the database changed:\n%s\n->\n%s", actor, action.name, target, want, before, after)
							}
						}
					}
				})
			}
		}
	}
}
