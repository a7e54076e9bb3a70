package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
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
		c.signup(t, "alice", "password1")
		raw := c.login(t, "alice", "password1").header.Get("Set-Cookie")
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

func TestSessionRenewal(t *testing.T) {
	forEachApp(t, map[string]string{"auth.session_ttl": "15m", "auth.session_absolute_ttl": "40m"}, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "password1")
		expect(t, "login", c.login(t, "alice", "password1"), 200, "")
		expiry := func() time.Time {
			var s string
			if err := app.store.DB().QueryRow("SELECT CAST(expires_at AS TEXT) FROM sessions").Scan(&s); err != nil {
				t.Fatal(err)
			}
			return parseDBTime(t, s)
		}
		first := expiry()

		app.clock.Advance(5 * time.Minute) // 10 of 15 minutes left: outside the window
		r := c.do(t, "GET", "/api/v1/auth/me", "")
		expect(t, "me outside the window", r, 200, "")
		if r.sessionCookie() != nil || !expiry().Equal(first) {
			t.Fatal("renewed outside the refresh window")
		}

		app.clock.Advance(8 * time.Minute) // 2 minutes left: inside the window
		r = c.do(t, "GET", "/api/v1/auth/me", "")
		expect(t, "me inside the window", r, 200, "")
		renewed := expiry()
		if r.sessionCookie() == nil || !renewed.After(first) {
			t.Fatalf("not renewed inside the window: cookie %v, expiry %v -> %v", r.sessionCookie(), first, renewed)
		}

		app.clock.Advance(5 * time.Minute) // past the first expiry, inside the renewed one
		expect(t, "me after the first expiry", c.do(t, "GET", "/api/v1/auth/me", ""), 200, "")

		// Renew at every chance: the session still ends at the absolute limit.
		for range 4 {
			app.clock.Advance(12 * time.Minute)
			c.do(t, "GET", "/api/v1/auth/me", "")
		}
		expect(t, "me past the absolute lifetime", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
	})
}

func TestExpiredSession(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "password1")
		c.login(t, "alice", "password1")
		app.clock.Advance(16 * time.Minute)
		expect(t, "me with an expired session", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
	})
}

func TestInactivatedUserIsLockedOut(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c1, c2 := app.client(), app.client()
		r := c1.signup(t, "alice", "password1")
		c1.login(t, "alice", "password1")
		c2.login(t, "alice", "password1")
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
		expect(t, "login of an inactive user", c1.login(t, "alice", "password1"), 403, "account_inactive")
	})
}

func TestConcurrentSignupsOfOneName(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		const n = 50
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = app.client().signup(t, "popular", "password1").status
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
			expect(t, "signup", c.signup(t, name, "password1"), 201, "")
			r := c.login(t, name, "password1")
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

func TestLoginThrottling(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "password1")
		for i := range 5 {
			expect(t, fmt.Sprintf("bad password %d", i+1), c.login(t, "alice", "wrong-password"), 401, "invalid_credentials")
		}
		r := c.login(t, "alice", "password1")
		expect(t, "6th attempt with the right password", r, 429, "too_many_attempts")
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		if n := app.count(t, "sessions"); n != 0 {
			t.Fatalf("a throttled login made a session")
		}
		app.clock.Advance(15 * time.Minute)
		expect(t, "after the window", c.login(t, "alice", "password1"), 200, "")
		c.do(t, "DELETE", "/api/v1/auth/logout", "")
		// The good login cleared the count: 4 more failures do not throttle.
		for range 4 {
			c.login(t, "alice", "wrong-password")
		}
		expect(t, "after 4 new failures", c.login(t, "alice", "password1"), 200, "")
	})
}

func TestAlreadyAuthenticated(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "password1")
		c.login(t, "alice", "password1")
		expect(t, "signup while logged in", c.signup(t, "bobby", "password1"), 403, "already_authenticated")
		expect(t, "login while logged in", c.login(t, "alice", "password1"), 403, "already_authenticated")
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
		owner.signup(t, "owner", "password1")
		owner.login(t, "owner", "password1")
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
		expect(t, "good signup", c.signup(t, "alice", "password1"), 201, "")
		expect(t, "same name other case", c.signup(t, "ALICE", "password1"), 409, "username_taken")
	})
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	forEachApp(t, map[string]string{"http.trusted_origins": "https://app.example.com"}, func(t *testing.T, app *testApp) {
		c := app.client()
		r := c.do(t, "POST", "/api/v1/auth/signup", credentials("alice", "password1"), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		expect(t, "cross-site signup", r, 403, "forbidden")
		if n := app.count(t, "users"); n != 0 {
			t.Fatal("a cross-site request created a user")
		}
		r = c.do(t, "POST", "/api/v1/auth/signup", credentials("alice", "password1"), "Origin", "https://app.example.com", "Sec-Fetch-Site", "cross-site")
		expect(t, "signup from a trusted origin", r, 201, "")
		r = c.do(t, "GET", "/api/v1/", "", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		expect(t, "cross-site GET", r, 200, "")
	})
}

// parseDBTime reads a timestamp cast to text by either engine.
func parseDBTime(t *testing.T, s string) time.Time {
	t.Helper()
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v
		}
	}
	t.Fatalf("cannot parse timestamp %q", s)
	return time.Time{}
}
