package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/shared/user"
)

type adminAction struct {
	name, method, path string
	body               func(target string) string // nil: the target goes in the query, as param
	param              string                     // the query parameter; "" means username
}

var adminActions = []adminAction{
	{"create user", "POST", "/api/v1/users", func(n string) string {
		return fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-2","role":"user"}`, n)
	}, ""},
	{"create admin", "POST", "/api/v1/users", func(n string) string {
		return fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-2","role":"admin"}`, n)
	}, ""},
	{"inactivate", "PATCH", "/api/v1/users/inactivate", usernameBody, ""},
	{"reactivate", "PATCH", "/api/v1/users/reactivate", usernameBody, ""},
	{"grant", "PATCH", "/api/v1/users/grant", usernameBody, ""},
	{"revoke", "PATCH", "/api/v1/users/revoke", usernameBody, ""},
	{"set password", "PATCH", "/api/v1/users/password", func(n string) string {
		return fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-2"}`, n)
	}, ""},
	{"list sessions", "GET", "/api/v1/users/sessions", nil, ""},
	{"end sessions", "DELETE", "/api/v1/users/sessions", usernameBody, ""},
	{"reset mfa", "PATCH", "/api/v1/users/reset-mfa", usernameBody, ""},
	{"audit trail", "GET", "/api/v1/audit", nil, "target"},
}

// request returns the path and body of the action on target.
func (a adminAction) request(target string) (path, body string) {
	if a.body == nil {
		return a.path + "?" + cmp.Or(a.param, "username") + "=" + target, ""
	}
	return a.path, a.body(target)
}

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
	if action == "audit trail" { // any target, an unknown one too: a page, maybe empty
		return map[bool]int{true: 200, false: 403}[actor == user.RoleSuperAdmin]
	}
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
						path, body := action.request(targetNames[target])
						r := c.do(t, action.method, path, body)
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

func TestAdminEffects(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		super := app.loggedIn(t, "the.super", user.RoleSuperAdmin)
		target := app.loggedIn(t, "target.user", user.RoleUser)
		expect(t, "a user lists users", target.do(t, "GET", "/api/v1/users", ""), 403, "forbidden")

		// A role change applies from the target's next request.
		app.clock.Advance(time.Second)
		r := super.do(t, "PATCH", "/api/v1/users/grant", usernameBody("target.user"))
		expect(t, "grant", r, 200, "")
		granted := r.json(t)
		if granted["role"] != "admin" || granted["updated_at"] == granted["created_at"] {
			t.Fatalf("grant answered %s", r.body)
		}
		expect(t, "the new admin lists users", target.do(t, "GET", "/api/v1/users", ""), 200, "")

		// Idempotent: the second grant changes nothing, updated_at included.
		app.clock.Advance(time.Second)
		r = super.do(t, "PATCH", "/api/v1/users/grant", usernameBody("TARGET.USER"))
		expect(t, "grant again", r, 200, "")
		if again := r.json(t); again["updated_at"] != granted["updated_at"] || again["role"] != "admin" {
			t.Fatalf("second grant moved the user: %v -> %s", granted, r.body)
		}
		expect(t, "revoke", super.do(t, "PATCH", "/api/v1/users/revoke", usernameBody("target.user")), 200, "")
		expect(t, "the ex-admin lists users", target.do(t, "GET", "/api/v1/users", ""), 403, "forbidden")

		// Inactivation ends every session of the target at once.
		r = super.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody("target.user"))
		expect(t, "inactivate", r, 200, "")
		if r.json(t)["is_active"] != false {
			t.Fatalf("inactivate answered %s", r.body)
		}
		inactivated := r.json(t)["updated_at"]
		expect(t, "the inactive target's next request", target.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		r = super.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody("target.user"))
		if expect(t, "inactivate again", r, 200, ""); r.json(t)["updated_at"] != inactivated {
			t.Fatalf("second inactivate moved updated_at")
		}
		expect(t, "login while inactive", target.login(t, "target.user", seedPassword), 403, "account_inactive")
		expect(t, "reactivate", super.do(t, "PATCH", "/api/v1/users/reactivate", usernameBody("target.user")), 200, "")
		expect(t, "login after reactivation", target.login(t, "target.user", seedPassword), 200, "")

		// A password reset ends the target's sessions; the new password works.
		expect(t, "set password", super.do(t, "PATCH", "/api/v1/users/password", `{"username":"target.user","password":"reset password"}`), 204, "")
		expect(t, "the target's old session", target.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "login with the old password", target.login(t, "target.user", seedPassword), 401, "invalid_credentials")
		expect(t, "login with the new password", target.login(t, "target.user", "reset password"), 200, "")

		// Bad input: 422 naming every failing field.
		r = super.do(t, "POST", "/api/v1/users", `{"username":"x","password":"y","role":"root"}`)
		expect(t, "create with bad fields", r, 422, "validation_failed")
		if fields := problemFields(t, r); strings.Join(fields, ",") != "username,password,role" {
			t.Fatalf("fields %v", fields)
		}
		expect(t, "inactivate without a name", super.do(t, "PATCH", "/api/v1/users/inactivate", `{}`), 422, "validation_failed")
	})
}

// TestConcurrentGrantsAndRevokes: two super admins flip one user's role 25
// times each at once. Nothing fails, and the row ends consistent. (Each
// flip waits for the row lock: with hundreds at once on a loaded machine
// the last ones would wait past the request deadline, a 503 by design.)
func TestConcurrentGrantsAndRevokes(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		s1, s2 := app.loggedIn(t, "super.one", user.RoleSuperAdmin), app.loggedIn(t, "super.two", user.RoleSuperAdmin)
		app.seed(t, "flipper", user.RoleUser)
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		const flips = 25
		for i := range flips {
			for _, c := range []*client{s1, s2} {
				wg.Go(func() {
					path := "/api/v1/users/grant"
					if i%2 == 1 {
						path = "/api/v1/users/revoke"
					}
					r := c.do(t, "PATCH", path, usernameBody("flipper"))
					mu.Lock()
					statuses[r.status]++
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		if statuses[200] != 2*flips {
			t.Fatalf("statuses %v, want 200 × %d\n%s", statuses, 2*flips, app.logLines(`"status":5`))
		}
		u, err := app.store.UserByUsername(context.Background(), "flipper")
		if err != nil || (u.Role != user.RoleUser && u.Role != user.RoleAdmin) || !u.IsActive {
			t.Fatalf("final row %+v, %v", u, err)
		}
	})
}

// TestInactivationRacingLogin: whatever the interleaving, an inactivated
// user is left with no session.
func TestInactivationRacingLogin(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		for i := range 10 {
			name := fmt.Sprintf("racer%d", i)
			u := app.seed(t, name, user.RoleUser)
			var wg sync.WaitGroup
			wg.Go(func() { app.client().login(t, name, seedPassword) })
			wg.Go(func() { admin.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody(name)) })
			wg.Wait()
			if n, err := app.store.SessionCount(context.Background(), u.ID); err != nil || n != 0 {
				t.Fatalf("%s: %d sessions left after inactivation (%v)", name, n, err)
			}
		}
	})
}

// seedMany stores n users in one transaction with few distinct timestamps,
// roles and states: plenty of ties for id to break in every sort order.
func (a *testApp) seedMany(t *testing.T, n int) {
	t.Helper()
	base := a.clock.Now()
	err := a.store.WithinTx(context.Background(), func(ctx context.Context) error {
		for i := range n {
			u := user.New(fmt.Sprintf("user%04d", (i*7919)%n), "$hash", []user.Role{user.RoleUser, user.RoleAdmin}[i%2], base.Add(time.Duration(i%10)*time.Second))
			u.UpdatedAt = base.Add(time.Duration(i%3) * time.Minute)
			u.IsActive = i%5 != 0
			if err := a.store.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPagination: 1,000 users, every sort order in both directions, pages
// that tile the whole set with no gaps and no repeats, in order.
func TestPagination(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		app.seedMany(t, 1000)
		const all = 1001
		r := admin.do(t, "GET", "/api/v1/users", "")
		expect(t, "default page", r, 200, "")
		type pageBody struct {
			Users                []map[string]any
			Total, Limit, Offset int
		}
		var page pageBody
		json.Unmarshal(r.body, &page)
		if page.Total != all || page.Limit != 20 || page.Offset != 0 || len(page.Users) != 20 {
			t.Fatalf("default page: total %d limit %d offset %d, %d users", page.Total, page.Limit, page.Offset, len(page.Users))
		}
		for _, field := range []string{"username", "role", "is_active", "created_at", "updated_at"} {
			for _, order := range []string{"asc", "desc"} {
				var seen []map[string]any
				for offset := 0; offset < all; offset += 97 {
					r := admin.do(t, "GET", fmt.Sprintf("/api/v1/users?sort=%s&order=%s&limit=97&offset=%d", field, order, offset), "")
					expect(t, field+" "+order, r, 200, "")
					page = pageBody{}
					json.Unmarshal(r.body, &page)
					if page.Total != all || page.Offset != offset {
						t.Fatalf("%s %s offset %d: total %d offset %d", field, order, offset, page.Total, page.Offset)
					}
					seen = append(seen, page.Users...)
				}
				ids := map[any]bool{}
				for _, u := range seen {
					ids[u["id"]] = true
				}
				if len(seen) != all || len(ids) != all {
					t.Fatalf("%s %s: pages hold %d users, %d distinct; want %d", field, order, len(seen), len(ids), all)
				}
				for i := 1; i < len(seen); i++ {
					if c := compareUsers(seen[i-1], seen[i], field); c > 0 == (order == "asc") && c != 0 {
						t.Fatalf("%s %s: out of order at %d: %v then %v", field, order, i, seen[i-1], seen[i])
					}
				}
			}
		}
		r = admin.do(t, "GET", "/api/v1/users?limit=0&offset=-1&sort=password_hash&order=up&page=2", "")
		expect(t, "bad parameters", r, 422, "validation_failed")
		if got := strings.Join(problemFields(t, r), ","); got != "limit,offset,sort,order,page" {
			t.Fatalf("fields %s", got)
		}
		expect(t, "limit 101", admin.do(t, "GET", "/api/v1/users?limit=101", ""), 422, "validation_failed")
		r = admin.do(t, "GET", "/api/v1/users?limit=100&offset=1000", "")
		page = pageBody{}
		json.Unmarshal(r.body, &page)
		if r.status != 200 || len(page.Users) != 1 {
			t.Fatalf("last page: %d, %d users", r.status, len(page.Users))
		}
	})
}

// TestCursorPagination walks every sort order by cursor, jumps in by
// offset and walks on, checks that a walk neither skips nor repeats rows
// while users are added, and refuses every bad cursor with a 422 naming it.
func TestCursorPagination(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		app.seedMany(t, 250)
		const all = 251
		type pageBody struct {
			Users      []map[string]any
			Total      int
			Offset     *int
			NextCursor *string `json:"next_cursor"`
		}
		get := func(query string) pageBody {
			t.Helper()
			r := admin.do(t, "GET", "/api/v1/users?"+query, "")
			expect(t, query, r, 200, "")
			var p pageBody
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		walk := func(first string, sortOrder string) []map[string]any {
			t.Helper()
			p := get(first)
			seen := p.Users
			for p.NextCursor != nil {
				q := "limit=23&cursor=" + *p.NextCursor + sortOrder
				p = get(q)
				if p.Offset != nil || p.Total != all {
					t.Fatalf("cursor page: offset %v total %d", p.Offset, p.Total)
				}
				seen = append(seen, p.Users...)
			}
			return seen
		}
		for _, field := range []string{"username", "role", "is_active", "created_at", "updated_at"} {
			for _, order := range []string{"asc", "desc"} {
				so := "&sort=" + field + "&order=" + order
				for _, start := range []int{0, 100} {
					seen := walk(fmt.Sprintf("limit=23&offset=%d%s", start, so), []string{so, ""}[start/100])
					ids := map[any]bool{}
					for _, u := range seen {
						ids[u["id"]] = true
					}
					if len(seen) != all-start || len(ids) != all-start {
						t.Fatalf("%s %s from %d: walk holds %d users, %d distinct; want %d", field, order, start, len(seen), len(ids), all-start)
					}
					for i := 1; i < len(seen); i++ {
						if c := compareUsers(seen[i-1], seen[i], field); c > 0 == (order == "asc") && c != 0 {
							t.Fatalf("%s %s: out of order at %d: %v then %v", field, order, i, seen[i-1], seen[i])
						}
					}
				}
			}
		}

		// Users added during a walk by creation time come after the cursor:
		// nothing already seen is repeated, nothing skipped.
		p := get("limit=50&sort=created_at&order=asc")
		app.clock.Advance(time.Minute)
		app.seed(t, "latecomer", user.RoleUser)
		seen := p.Users
		for p.NextCursor != nil {
			p = get("limit=50&cursor=" + *p.NextCursor)
			seen = append(seen, p.Users...)
		}
		if len(seen) != all+1 || seen[len(seen)-1]["username"] != "latecomer" {
			t.Fatalf("walk with an insert: %d users, last %v", len(seen), seen[len(seen)-1]["username"])
		}
		if last := get("limit=1&offset=251"); last.NextCursor != nil || len(last.Users) != 1 {
			t.Fatalf("last page: next_cursor %v, %d users", last.NextCursor, len(last.Users))
		}

		c := *get("limit=5&sort=role&order=asc").NextCursor
		flipped := []byte(c)
		flipped[10] ^= 2
		for name, q := range map[string]string{
			"with offset":     "cursor=" + c + "&offset=5",
			"another sort":    "cursor=" + c + "&sort=username",
			"another order":   "cursor=" + c + "&order=desc",
			"altered":         "cursor=" + string(flipped),
			"garbage":         "cursor=%25%00%ff",
			"made up":         "cursor=eyJzb3J0Ijoicm9sZSJ9",
			"cut":             "cursor=" + c[:len(c)-3],
			"another's shape": "cursor=" + *get("limit=5&sort=username").NextCursor + "&sort=role",
		} {
			before := app.snapshot(t)
			r := admin.do(t, "GET", "/api/v1/users?"+q, "")
			expect(t, "cursor "+name, r, 422, "validation_failed")
			if got := strings.Join(problemFields(t, r), ","); got != "cursor" {
				t.Fatalf("cursor %s: fields %s", name, got)
			}
			if app.snapshot(t) != before {
				t.Fatalf("cursor %s changed the database", name)
			}
		}
		// The cursor's own sort and order, repeated, are fine.
		get("cursor=" + c + "&sort=role&order=asc")
	})
}

// compareUsers orders two users as the API must: by field (usernames
// ignoring case), then by id.
func compareUsers(a, b map[string]any, field string) int {
	key := func(u map[string]any) string {
		v := fmt.Sprint(u[field])
		if field == "username" {
			return strings.ToLower(v)
		}
		if field == "created_at" || field == "updated_at" {
			ts, _ := time.Parse(time.RFC3339Nano, v)
			return ts.UTC().Format("2006-01-02T15:04:05.000000")
		}
		return v
	}
	if c := strings.Compare(key(a), key(b)); c != 0 || field == "username" {
		return c
	}
	return strings.Compare(fmt.Sprint(a["id"]), fmt.Sprint(b["id"]))
}
