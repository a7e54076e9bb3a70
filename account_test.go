package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/features/changepassword"
	"github.com/cleanslice/cleanslice/features/confirmrecovery"
	"github.com/cleanslice/cleanslice/features/login"
	"github.com/cleanslice/cleanslice/features/setuserpassword"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

func TestAccountFlow(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		r := c.signup(t, "Alice.Smith", "first password")
		expect(t, "signup", r, 201, "")
		u := r.json(t)
		if u["username"] != "Alice.Smith" || u["role"] != "user" || u["is_active"] != true || u["id"] == "" || u["created_at"] != u["updated_at"] {
			t.Fatalf("signup body %s", r.body)
		}
		if _, err := time.Parse(time.RFC3339, u["created_at"].(string)); err != nil || !strings.HasSuffix(u["created_at"].(string), "Z") {
			t.Fatalf("created_at %v is not RFC 3339 UTC", u["created_at"])
		}
		if len(u) != 8 || u["email"] != nil || u["email_verified"] != false {
			t.Fatalf("user object has %d fields, want 8 (no address: email null, not verified): %s", len(u), r.body)
		}

		r = c.login(t, "alice.smith", "first password")
		expect(t, "login", r, 200, "")
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("login response headers: %v", r.header)
		}
		if r.json(t)["id"] != u["id"] || r.sessionCookie() == nil {
			t.Fatalf("login body %s, cookie %v", r.body, r.sessionCookie())
		}
		oldCookie := r.sessionCookie()
		expect(t, "me", c.do(t, "GET", "/api/v1/auth/me", ""), 200, "")

		r = c.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"first password","new_password":"second password"}`)
		expect(t, "change password", r, 204, "")
		newCookie := r.sessionCookie()
		if newCookie == nil || newCookie.Value == oldCookie.Value {
			t.Fatal("change password did not issue a new cookie")
		}
		stale := app.client()
		stale.http.Jar.SetCookies(mustURL(t, app.url), []*http.Cookie{oldCookie})
		expect(t, "me with the old cookie", stale.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "me with the new cookie", c.do(t, "GET", "/api/v1/auth/me", ""), 200, "")

		r = c.do(t, "DELETE", "/api/v1/auth/logout", "")
		expect(t, "logout", r, 204, "")
		if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("logout did not expire the cookie: %v", ck)
		}
		expect(t, "me after logout", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		if n := app.count(t, "sessions"); n != 0 {
			t.Fatalf("%d sessions left after logout", n)
		}

		expect(t, "login with the old password", c.login(t, "Alice.Smith", "first password"), 401, "invalid_credentials")
		expect(t, "login with the new password", c.login(t, "Alice.Smith", "second password"), 200, "")
	})
}

func TestCookieAttributes(t *testing.T) {
	forEachApp(t, map[string]string{"cookie.name": "access_token"}, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "quiet-lamp-1")
		raw := c.login(t, "alice", "quiet-lamp-1").header.Get("Set-Cookie")
		for _, attr := range []string{"access_token=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=900", "Expires="} {
			if !strings.Contains(raw, attr) {
				t.Errorf("login Set-Cookie %q lacks %s", raw, attr)
			}
		}
		if strings.Contains(raw, "Secure") {
			t.Errorf("cookie.secure = false but the cookie is Secure: %q", raw)
		}
		raw = c.do(t, "DELETE", "/api/v1/auth/logout", "").header.Get("Set-Cookie")
		for _, attr := range []string{"access_token=;", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"} {
			if !strings.Contains(raw, attr) {
				t.Errorf("logout Set-Cookie %q lacks %s", raw, attr)
			}
		}
	})
}

func TestSignupRules(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		r := c.signup(t, ".bad", "short")
		expect(t, "bad username and password", r, 422, "validation_failed")
		var p struct {
			Errors []struct{ Field, Message string }
		}
		json.Unmarshal(r.body, &p)
		if len(p.Errors) != 2 || p.Errors[0].Field != "username" || !strings.Contains(p.Errors[0].Message, "5 to 20") || p.Errors[1].Field != "password" {
			t.Fatalf("errors %+v", p.Errors)
		}
		expect(t, "good signup", c.signup(t, "alice", "quiet-lamp-1"), 201, "")
		expect(t, "same name other case", c.signup(t, "ALICE", "quiet-lamp-1"), 409, "username_taken")
	})
}

// TestCommonPasswordsAreRefused: a new password among the 30,000 most
// common, in any case, is 422 naming its field at signup, admin creation,
// admin reset and one's own change, and changes nothing (recovery and the
// CLI: TestRecovery, TestUsersCreateCommand). Login and current_password
// never check it: a common password set before the rule still signs in,
// and can be changed.
func TestCommonPasswordsAreRefused(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		hash, err := newHasher(app.cfg.Password, nil, nil, nil).Hash(ctx, "iloveyou")
		if err != nil {
			t.Fatal(err)
		}
		if err := app.store.InsertUser(ctx, user.New("old.timer", hash, user.RoleUser, app.clock.Now())); err != nil {
			t.Fatal(err)
		}
		super := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		owner := app.client()
		expect(t, "login with a common password set before the rule", owner.login(t, "old.timer", "iloveyou"), 200, "")

		before := app.snapshot(t)
		expectTooCommon(t, "signup", app.client().signup(t, "new.user", "SunShine"), "password")
		expectTooCommon(t, "admin creation", super.do(t, "POST", "/api/v1/users", `{"username":"made.user","password":"PASSWORD","role":"user"}`), "password")
		expectTooCommon(t, "admin reset", super.do(t, "PATCH", "/api/v1/users/password", `{"username":"old.timer","password":"Qwertyuiop"}`), "password")
		expectTooCommon(t, "own change", owner.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"iloveyou","new_password":"1qaz2wsx"}`), "new_password")
		if after := app.snapshot(t); after != before {
			t.Fatalf("a refused common password changed the database:\n%s\nwant\n%s", after, before)
		}
		expect(t, "changing away from a common password", owner.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"iloveyou","new_password":"quiet-lamp-2"}`), 204, "")
		expect(t, "login with the new one", app.client().login(t, "old.timer", "quiet-lamp-2"), 200, "")
	})
}

// expectTooCommon fails unless r is a 422 whose only failing field is
// field, refused as too common.
func expectTooCommon(t *testing.T, what string, r response, field string) {
	t.Helper()
	expect(t, what, r, 422, "validation_failed")
	var p struct {
		Errors []struct{ Field, Message string }
	}
	json.Unmarshal(r.body, &p)
	if len(p.Errors) != 1 || p.Errors[0].Field != field || !strings.Contains(p.Errors[0].Message, "is too common") {
		t.Fatalf("%s: errors %+v, want %s refused as too common", what, p.Errors, field)
	}
}

// TestSignupThrottle: a client's signups past auth.max_signups_per_ip in
// auth.signup_window get 429 with Retry-After, taken names included.
func TestSignupThrottle(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_signups_per_ip": "2"}, func(t *testing.T, app *testApp) {
		c := app.client()
		expect(t, "first signup", c.signup(t, "first.user", "quiet-lamp-1"), 201, "")
		expect(t, "a taken name", c.signup(t, "first.user", "quiet-lamp-1"), 409, "username_taken")
		r := c.signup(t, "third.user", "quiet-lamp-1")
		expect(t, "third signup", r, 429, "too_many_attempts")
		if ra := r.header.Get("Retry-After"); ra != "3600" {
			t.Fatalf("Retry-After %q, want 3600", ra)
		}
		if _, err := app.store.UserByUsername(context.Background(), "third.user"); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("a refused signup made its user: %v", err)
		}
		app.clock.Advance(time.Hour)
		expect(t, "after the window", c.signup(t, "third.user", "quiet-lamp-1"), 201, "")
	})
}

func TestConcurrentSignupsOfOneName(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		const n = 50
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = app.client().signup(t, "popular", "quiet-lamp-1").status
			})
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[201] != 1 || counts[409] != n-1 {
			t.Fatalf("statuses %v, want one 201 and %d 409", counts, n-1)
		}
		if rows := app.count(t, "users"); rows != 1 {
			t.Fatalf("%d user rows", rows)
		}
	})
}

func TestAlreadyAuthenticated(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "quiet-lamp-1")
		c.login(t, "alice", "quiet-lamp-1")
		expect(t, "signup while logged in", c.signup(t, "bobby", "quiet-lamp-1"), 403, "already_authenticated")
		expect(t, "login while logged in", c.login(t, "alice", "quiet-lamp-1"), 403, "already_authenticated")
		if n := app.count(t, "users"); n != 1 {
			t.Fatalf("%d users", n)
		}
	})
}

func TestUnauthenticatedCalls(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		expect(t, "me", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 401, "not_authenticated")
		expect(t, "password", c.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"a","new_password":"bbbbbbbbb"}`), 401, "not_authenticated")
		c.http.Jar.SetCookies(mustURL(t, app.url), []*http.Cookie{{Name: "access_token", Value: "forged.token.value"}})
		r := c.do(t, "GET", "/api/v1/auth/me", "")
		expect(t, "me with a forged cookie", r, 401, "not_authenticated")
		if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 {
			t.Fatal("a forged cookie was not cleared")
		}
	})
}

// TestBadInputChangesNothing sends every kind of bad body to every endpoint
// that takes one: each gets its problem response and nothing is written.
func TestBadInputChangesNothing(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		owner := app.client()
		owner.signup(t, "owner", "quiet-lamp-1")
		owner.login(t, "owner", "quiet-lamp-1")
		users, sessions := app.count(t, "users"), app.count(t, "sessions")
		anon := app.client()
		big := `{"username":"` + strings.Repeat("a", 100<<10) + `"}`
		type bad struct {
			name, body, contentType string
			status                  int
			code                    string
		}
		bodies := []bad{
			{"malformed", `{"username":`, "application/json", 400, "bad_request"},
			{"wrong type", `{"username":5,"password":true}`, "application/json", 400, "bad_request"},
			{"unknown field", `{"username":"x","password":"y","role":"admin"}`, "application/json", 400, "bad_request"},
			{"form", `username=x&password=y`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
			{"100 KB", big, "application/json", 413, "body_too_large"},
		}
		endpoints := []struct {
			c          *client
			method     string
			path       string
			emptyBody  string
			emptyField []string
		}{
			{anon, "POST", "/api/v1/auth/signup", `{"username":"","password":""}`, []string{"username", "password"}},
			{anon, "POST", "/api/v1/auth/login", `{"username":"","password":""}`, []string{"username", "password"}},
			{owner, "PUT", "/api/v1/auth/password", `{"current_password":"","new_password":""}`, []string{"current_password", "new_password"}},
		}
		for _, e := range endpoints {
			for _, b := range bodies {
				r := e.c.do(t, e.method, e.path, b.body, "Content-Type", b.contentType)
				expect(t, e.path+" "+b.name, r, b.status, b.code)
			}
			r := e.c.do(t, e.method, e.path, e.emptyBody)
			expect(t, e.path+" empty strings", r, 422, "validation_failed")
			var p struct {
				Errors []struct{ Field, Message string }
			}
			json.Unmarshal(r.body, &p)
			if len(p.Errors) != len(e.emptyField) {
				t.Fatalf("%s empty strings: errors %+v, want fields %v", e.path, p.Errors, e.emptyField)
			}
			for i, f := range e.emptyField {
				if p.Errors[i].Field != f || p.Errors[i].Message == "" {
					t.Fatalf("%s empty strings: errors %+v, want fields %v", e.path, p.Errors, e.emptyField)
				}
			}
		}
		if u, s := app.count(t, "users"), app.count(t, "sessions"); u != users || s != sessions {
			t.Fatalf("bad input changed the database: users %d -> %d, sessions %d -> %d", users, u, sessions, s)
		}
		r := owner.do(t, "DELETE", "/api/v1/auth/logout", "a=b", "Content-Type", "application/x-www-form-urlencoded")
		expect(t, "logout with a form body", r, 415, "unsupported_media_type")
		var counted int
		if err := app.store.DB().QueryRow(`SELECT coalesce(sum(attempts), 0) FROM attempt_windows WHERE key NOT LIKE 'signup:%'`).Scan(&counted); err != nil || counted != 0 {
			t.Fatalf("bad input counted as password attempts: %d (%v)", counted, err)
		}
		expect(t, "owner still logged in", owner.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
	})
}

func TestLoginThrottling(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "quiet-lamp-1")
		for i := range 5 {
			expect(t, fmt.Sprintf("bad password %d", i+1), c.login(t, "alice", "wrong-password"), 401, "invalid_credentials")
		}
		r := c.login(t, "alice", "quiet-lamp-1")
		expect(t, "6th attempt with the right password", r, 429, "too_many_attempts")
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		if n := app.count(t, "sessions"); n != 0 {
			t.Fatalf("a throttled login made a session")
		}
		app.clock.Advance(15 * time.Minute)
		expect(t, "after the window", c.login(t, "alice", "quiet-lamp-1"), 200, "")
		c.do(t, "DELETE", "/api/v1/auth/logout", "")
		// The good login cleared the count: 4 more failures do not throttle.
		for range 4 {
			c.login(t, "alice", "wrong-password")
		}
		expect(t, "after 4 new failures", c.login(t, "alice", "quiet-lamp-1"), 200, "")
	})
}

// TestConcurrentWrongPasswordsAreExact: 8 wrong passwords at once for one
// username with auth.max_failed_logins = 3: exactly 3 are verified (401,
// and a login.failed event each), the others get 429, on every deployment
// and through two replicas sharing one PostgreSQL.
func TestConcurrentWrongPasswordsAreExact(t *testing.T) {
	settings := map[string]string{"auth.max_failed_logins": "3"}
	check := func(t *testing.T, apps ...*testApp) {
		apps[0].seed(t, "victim", user.RoleUser)
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				r := apps[i%len(apps)].client().login(t, "victim", fmt.Sprintf("guess %d", i))
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		var verified int
		if err := apps[0].store.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE type = 'login.failed'`).Scan(&verified); err != nil {
			t.Fatal(err)
		}
		if statuses[401] != 3 || statuses[429] != 5 || verified != 3 {
			t.Fatalf("statuses %v and %d wrong passwords verified; want 3 x 401, 5 x 429, 3 verified", statuses, verified)
		}
		expect(t, "the right password in a full window", apps[0].client().login(t, "victim", seedPassword), 429, "too_many_attempts")
	}
	forEachAppOn(t, dbtest.ScaleOut, settings, func(t *testing.T, app *testApp) { check(t, app) })
	t.Run("two replicas", func(t *testing.T) {
		t.Parallel()
		dbURL := dbtest.URL(t, "postgres")
		check(t, newTestAppOn(t, dbURL, settings), newTestAppOn(t, dbURL, settings))
	})
}

// TestCurrentPasswordIsThrottledAndAudited: with a session, wrong current
// passwords count in the login windows and are recorded; once the window
// is full the right one is 429 too, and so is a login.
func TestCurrentPasswordIsThrottledAndAudited(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_failed_logins": "3"}, func(t *testing.T, app *testApp) {
		owner := app.loggedIn(t, "owner", user.RoleUser)
		change := func(current string) response {
			return owner.do(t, "PUT", "/api/v1/auth/password", fmt.Sprintf(`{"current_password":%q,"new_password":"a new password"}`, current))
		}
		for i := range 3 {
			expect(t, fmt.Sprintf("wrong current password %d", i+1), change("guess"), 403, "wrong_password")
		}
		r := change(seedPassword)
		expect(t, "the right current password in a full window", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		expect(t, "a login in the full window", app.client().login(t, "owner", seedPassword), 429, "too_many_attempts")
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		page := auditPageOf(t, root.do(t, "GET", "/api/v1/audit?type=reauthentication.failed", ""))
		if len(page.Events) != 3 {
			t.Fatalf("%d reauthentication.failed events, want 3", len(page.Events))
		}
		for _, e := range page.Events {
			if e.Details["action"] != "change_password" || e.Actor == nil || e.Actor.Username != "owner" || e.Target == nil || e.Target.Username != "owner" {
				t.Fatalf("event %+v", e)
			}
		}
		app.clock.Advance(15 * time.Minute) // the session's idle lifetime too
		expect(t, "a login after the window", owner.login(t, "owner", seedPassword), 200, "")
		expect(t, "a change after the window", change(seedPassword), 204, "")
	})
}

// TestTypedNamesAreNotStored: what is typed as a username at login never
// reaches the database in the clear: the windows are keyed by a keyed
// hash, a name longer than any username (here a password typed in the
// wrong field) is counted for the client only, and the old table that kept
// names is empty.
func TestTypedNamesAreNotStored(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.seed(t, "alice", user.RoleUser)
		c := app.client()
		expect(t, "a wrong password", c.login(t, "ALICE", "wrong password"), 401, "invalid_credentials")
		expect(t, "a password in the name field", c.login(t, "correct horse battery staple", "x"), 401, "invalid_credentials")
		expect(t, "an unknown name", c.login(t, "nobody.here", "x"), 401, "invalid_credentials")
		rows, err := app.store.DB().Query(`SELECT key, attempts FROM attempt_windows`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		keys := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			keys[k] = n
			for _, typed := range []string{"alice", "horse", "nobody"} {
				if strings.Contains(strings.ToLower(k), typed) {
					t.Errorf("a typed name is stored: %q", k)
				}
			}
		}
		guard := passwordGuard(app.cfg)
		if keys[guard.UserKey("alice")] != 1 || keys[guard.UserKey("nobody.here")] != 1 || keys["ip:127.0.0.1"] != 3 || len(keys) != 3 {
			t.Errorf("windows %v: want alice's and nobody.here's keyed windows with 1 each, and the client's with 3", keys)
		}
	})
}

// TestConcurrentReads: 16 users read /auth/me 20 times each, all at once,
// however the service is deployed (PgBouncer's unnamed statements
// included): each read is its own user's, though the store may answer
// many lookups with one query.
func TestConcurrentReads(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		const users, reads = 16, 20
		cookies := make([]*http.Cookie, users)
		for i := range cookies {
			c := app.client()
			name := fmt.Sprintf("reader%d", i)
			expect(t, "signup", c.signup(t, name, "quiet-lamp-1"), 201, "")
			r := c.login(t, name, "quiet-lamp-1")
			expect(t, "login", r, 200, "")
			cookies[i] = r.sessionCookie()
		}
		before, _ := app.store.SessionQueries()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range users * reads {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest(http.MethodGet, app.url+"/api/v1/auth/me", nil)
				req.AddCookie(cookies[i%users])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				var me struct{ Username string }
				if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("read %d: status %d, %v", i, resp.StatusCode, err)
				} else if want := fmt.Sprintf("reader%d", i%users); me.Username != want {
					t.Errorf("read %d: %s's answer for %s", i, me.Username, want)
				}
			})
		}
		close(start)
		wg.Wait()
		after, _ := app.store.SessionQueries()
		t.Logf("%d reads in %d session queries", users*reads, after-before)
		// A PostgreSQL query outlasts the arrival of several reads, so they
		// queue and share (SQLite's, in process, mostly do not).
		if app.store.Engine() == "postgres" && after-before >= users*reads {
			t.Errorf("%d reads took %d session queries: none shared", users*reads, after-before)
		}
	})
}

func TestInactivatedUserIsLockedOut(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c1, c2 := app.client(), app.client()
		r := c1.signup(t, "alice", "quiet-lamp-1")
		c1.login(t, "alice", "quiet-lamp-1")
		c2.login(t, "alice", "quiet-lamp-1")
		if n := app.count(t, "sessions"); n != 2 {
			t.Fatalf("%d sessions, want 2", n)
		}
		id := uuid.FromStringOrNil(r.json(t)["id"].(string))
		if err := app.store.SetUserActive(context.Background(), id, false, app.clock.Now()); err != nil {
			t.Fatal(err)
		}
		expect(t, "me of an inactive user", c1.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		if n := app.count(t, "sessions"); n != 0 {
			t.Fatalf("%d sessions left for an inactive user", n)
		}
		expect(t, "other session of an inactive user", c2.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "login of an inactive user", c1.login(t, "alice", "quiet-lamp-1"), 403, "account_inactive")
	})
}

// parkedHasher is the real hasher, except that each verification, once
// done, waits for the test to let it go on: the window between a password
// check and the transaction it allows, held open as long as the test needs.
type parkedHasher struct {
	*password.Hasher
	verified chan struct{}
	resume   chan struct{}
}

func newParkedHasher(h *password.Hasher) parkedHasher {
	return parkedHasher{Hasher: h, verified: make(chan struct{}), resume: make(chan struct{})}
}

func (h parkedHasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	ok, err := h.Hasher.Verify(ctx, encoded, pw)
	h.verified <- struct{}{}
	<-h.resume
	return ok, err
}

// racing runs call in the background, and reset once call has verified
// its password and before it goes on; it returns call's error.
func racing(t *testing.T, h parkedHasher, call func() error, reset func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case <-h.verified:
	case err := <-done:
		t.Fatalf("the call ended before its verification: %v", err)
	}
	reset()
	close(h.resume)
	return <-done
}

// TestPasswordResetWinsOverARacingLogin: an admin resets a password while
// a login with the old one is between its verification and its
// transaction. The login gets 401 and no session, and its rehash (for a
// hash made with old parameters) never writes the old password over the
// new one nor moves updated_at back; the new password works, the old one
// does not. The same race against a password change: the change loses.
func TestPasswordResetWinsOverARacingLogin(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		root := auth.Actor{User: app.seed(t, "root.admin", user.RoleSuperAdmin), SessionID: []byte{1}}
		hasher := newHasher(app.cfg.Password, nil, nil, nil)
		older := app.cfg.Password
		older.Argon2MemoryKiB, older.Argon2Iterations = 32, 2 // a hash due for a rehash
		reset := setuserpassword.New(app.store, hasher, mailer.NewOutbox(app.store, templates(t), app.clock.Now), 8, app.clock.Now)
		policy := session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}

		for k, made := range map[string]*password.Hasher{"current.hash": hasher, "old.params": newHasher(older, nil, nil, nil)} {
			hash, err := made.Hash(ctx, seedPassword)
			if err != nil {
				t.Fatal(err)
			}
			victim := user.New(k, hash, user.RoleUser, app.clock.Now())
			if err := app.store.InsertUser(ctx, victim); err != nil {
				t.Fatal(err)
			}
			parked := newParkedHasher(hasher)
			li := login.New(app.store, parked, metrics.New(), login.Config{SignIn: signin.Rules{Policy: policy, SessionsPerUser: 50}, Guard: passwordGuard(app.cfg), PendingTTL: 5 * time.Minute}, app.clock.Now)
			var afterReset user.User
			err = racing(t, parked, func() error {
				_, err := li.Execute(ctx, auth.Actor{}, login.Input{Username: victim.Username, Password: seedPassword, ClientIP: "192.0.2.1"})
				return err
			}, func() {
				app.clock.Advance(time.Second)
				if err := reset.Execute(ctx, root, setuserpassword.Input{Username: victim.Username, Password: "set by the admin"}); err != nil {
					t.Fatal(err)
				}
				afterReset, _ = app.store.UserByID(ctx, victim.ID)
			})
			if !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("%s: the racing login: %v, want invalid_credentials", k, err)
			}
			if n, _ := app.store.SessionCount(ctx, victim.ID); n != 0 {
				t.Fatalf("%s: the racing login left %d sessions", k, n)
			}
			if got, _ := app.store.UserByID(ctx, victim.ID); got.PasswordHash != afterReset.PasswordHash || !got.UpdatedAt.Equal(afterReset.UpdatedAt) {
				t.Fatalf("%s: the login changed the reset's user: %+v, after the reset %+v", k, got, afterReset)
			}
			c := app.client()
			expect(t, k+": the old password", c.login(t, victim.Username, seedPassword), 401, "invalid_credentials")
			expect(t, k+": the new password", c.login(t, victim.Username, "set by the admin"), 200, "")
		}

		// A change of one's own password racing with a reset.
		changer := app.seed(t, "the.changer", user.RoleUser)
		parked := newParkedHasher(hasher)
		ch := changepassword.New(app.store, parked, mailer.NewOutbox(app.store, templates(t), app.clock.Now), signin.Rules{Policy: policy}, passwordGuard(app.cfg), 8, app.clock.Now)
		err := racing(t, parked, func() error {
			_, err := ch.Execute(ctx, auth.Actor{User: changer, SessionID: []byte{2}}, changepassword.Input{CurrentPassword: seedPassword, NewPassword: "set by the user", ClientIP: "192.0.2.1"})
			return err
		}, func() {
			if err := reset.Execute(ctx, root, setuserpassword.Input{Username: changer.Username, Password: "set by the admin"}); err != nil {
				t.Fatal(err)
			}
		})
		if !errors.Is(err, auth.ErrWrongPassword) {
			t.Fatalf("the racing change: %v, want wrong_password", err)
		}
		c := app.client()
		expect(t, "the racing change's password", c.login(t, changer.Username, "set by the user"), 401, "invalid_credentials")
		expect(t, "the reset's password", c.login(t, changer.Username, "set by the admin"), 200, "")
		if n, _ := app.store.SessionCount(ctx, changer.ID); n != 1 {
			t.Fatalf("%d sessions of the changer, want the one login's", n)
		}
	})
}

// templates are the embedded mail templates.
func templates(t testing.TB) *mailer.Templates {
	t.Helper()
	tpl, err := mailer.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestRecoveryWinsOverARacingLogin: a login with the old password parked
// between its verification and its transaction while the recovery sets a
// new one: the login gets 401 and no session.
func TestRecoveryWinsOverARacingLogin(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		victim := app.seed(t, "the.victim", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'victim@example.com', email_verified_at = created_at WHERE id = $1`, victim.ID); err != nil {
			t.Fatal(err)
		}
		secret, tok := onetime.New(victim.ID, onetime.Recovery, "victim@example.com", app.clock.Now(), time.Hour)
		if err := app.store.InsertToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		hasher := newHasher(app.cfg.Password, nil, nil, nil)
		parked := newParkedHasher(hasher)
		li := login.New(app.store, parked, metrics.New(), login.Config{SignIn: signin.Rules{Policy: session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}, SessionsPerUser: 50}, Guard: passwordGuard(app.cfg), PendingTTL: 5 * time.Minute}, app.clock.Now)
		recover := confirmrecovery.New(app.store, hasher, mailer.NewOutbox(app.store, templates(t), app.clock.Now), passwordGuard(app.cfg), 8, app.clock.Now)
		err := racing(t, parked, func() error {
			_, err := li.Execute(ctx, auth.Actor{}, login.Input{Username: victim.Username, Password: seedPassword, ClientIP: "192.0.2.1"})
			return err
		}, func() {
			if err := recover.Execute(ctx, confirmrecovery.Input{Token: secret, NewPassword: "recovered password"}); err != nil {
				t.Fatal(err)
			}
		})
		if !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the racing login: %v, want invalid_credentials", err)
		}
		if n, _ := app.store.SessionCount(ctx, victim.ID); n != 0 {
			t.Fatalf("the racing login left %d sessions", n)
		}
		expect(t, "the recovered password", app.client().login(t, victim.Username, "recovered password"), 200, "")
	})
}

// TestDeleteAccount: a user deletes their own account after their current
// password: the account and everything that is theirs go (sessions,
// second factors, tokens), the cookie is expired, the trail keeps
// user.deleted with the user id (its references null), the farewell
// notice stays in the outbox for delivery, and the name can be taken
// again. Refusals change nothing: a wrong password (recorded), a super
// admin, and an aal-1 session of a user with a second factor.
func TestDeleteAccount(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'alice@example.com', email_verified_at = created_at WHERE id = $1`, e.user.ID); err != nil {
			t.Fatal(err)
		}
		c := e.client
		expect(t, "no password", c.do(t, "DELETE", "/api/v1/auth/account", `{}`), 422, "validation_failed")
		expect(t, "a wrong password", c.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"wrong password"}`), 403, "wrong_password")
		if got := last(t, app.eventsOf(t, e.user.ID), "reauthentication.failed").Details["action"]; got != "delete_account" {
			t.Fatalf("reauthentication.failed action %v", got)
		}
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		expect(t, "a super admin", root.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`), 403, "forbidden")
		if n := app.count(t, "users"); n != 2 {
			t.Fatalf("%d users after the refusals", n)
		}

		r := c.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`)
		expect(t, "delete", r, 204, "")
		if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 && !ck.Expires.Before(time.Now()) {
			t.Fatalf("cookie %+v: expired", ck)
		}
		expect(t, "me after", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		for _, table := range []string{"sessions", "mfa_totp", "mfa_recovery_codes", "one_time_tokens"} {
			var n int
			app.store.DB().QueryRow(`SELECT count(*) FROM `+table+` WHERE user_id = $1`, e.user.ID).Scan(&n)
			if n != 0 {
				t.Errorf("%d rows of %s outlived the account", n, table)
			}
		}
		var deleted, references int
		app.store.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE type = 'user.deleted' AND CAST(details AS text) LIKE '%' || $1 || '%' AND actor_id IS NULL AND target_id IS NULL`, e.user.ID.String()).Scan(&deleted)
		app.store.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE actor_id = $1 OR target_id = $1`, e.user.ID).Scan(&references)
		if deleted != 1 || references != 0 {
			t.Fatalf("user.deleted events keeping the id: %d; events still naming the account: %d", deleted, references)
		}
		var farewell int
		app.store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE template = 'account_deleted' AND recipient = 'alice@example.com'`).Scan(&farewell)
		if farewell != 1 {
			t.Fatalf("%d farewell notices in the outbox after the deletion, want 1", farewell)
		}
		expect(t, "the name is free again", app.client().signup(t, "alice", "a brand new password"), 201, "")
	})
}

// TestDeleteAccountNeedsTheSecondFactor: a password-only session of a user
// with a factor (made as a login racing the enrollment would) cannot
// delete the account: 403 aal2_required, nothing deleted.
func TestDeleteAccountNeedsTheSecondFactor(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		secret, id := session.NewSecret()
		now := app.clock.Now()
		s := session.Policy{TTL: time.Hour, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}.Start(id, e.user.ID, now)
		if err := app.store.InsertSession(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		jwt, err := token.NewJWT(token.Secrets{Current: app.cfg.Auth.JWTSecret}, app.clock.Now).Issue(secret, now, s.ExpiresAt)
		if err != nil {
			t.Fatal(err)
		}
		racer := app.client()
		racer.http.Jar.SetCookies(mustURL(t, app.url), []*http.Cookie{{Name: "access_token", Value: jwt}})
		expect(t, "delete at aal 1", racer.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`), 403, "aal2_required")
		if n := app.count(t, "users"); n != 1 {
			t.Fatalf("%d users: the refused deletion deleted", n)
		}
		expect(t, "delete at aal 2", e.client.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`), 204, "")
	})
}
