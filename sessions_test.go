package main

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/user"
)

func TestSessionRenewal(t *testing.T) {
	forEachApp(t, map[string]string{"auth.session_ttl": "15m", "auth.session_absolute_ttl": "40m"}, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "quiet-lamp-1")
		expect(t, "login", c.login(t, "alice", "quiet-lamp-1"), 200, "")
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

func TestExpiredSession(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		c.signup(t, "alice", "quiet-lamp-1")
		c.login(t, "alice", "quiet-lamp-1")
		app.clock.Advance(16 * time.Minute)
		expect(t, "me with an expired session", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
	})
}

// TestSessionManagement: a user sees where they are logged in, ends one
// session, all others, or the current one; an admin lists and ends a
// user's sessions; an ended session is 401 at once; another user's
// session cannot be probed.
func TestSessionManagement(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.seed(t, "alice.user", user.RoleUser)
		app.seed(t, "bobby.user", user.RoleUser)
		login := func(name, agent string) *client {
			t.Helper()
			c := app.client()
			r := c.do(t, "POST", "/api/v1/auth/login", credentials(name, seedPassword), "User-Agent", agent)
			expect(t, "login "+name, r, 200, "")
			return c
		}
		laptop, phone, tablet := login("alice.user", "Laptop/1.0\t"), login("alice.user", "Phone/2.0"), login("alice.user", "Tablet/3.0")
		bob := login("bobby.user", "Bob/1.0")

		r := laptop.do(t, "GET", "/api/v1/auth/sessions", "")
		expect(t, "list", r, 200, "")
		list := sessionsOf(t, r)
		if len(list.Sessions) != 3 {
			t.Fatalf("%d sessions, want 3: %s", len(list.Sessions), r.body)
		}
		ids := map[string]string{}
		for _, s := range list.Sessions {
			if s.ID == nil || s.Current == nil || s.IP != "127.0.0.1" {
				t.Fatalf("session %+v", s)
			}
			if _, err := uuid.FromString(*s.ID); err != nil {
				t.Fatalf("id %q is not a UUID", *s.ID)
			}
			ids[s.UserAgent] = *s.ID
			if *s.Current != (s.UserAgent == "Laptop/1.0") {
				t.Fatalf("current marks %q", s.UserAgent)
			}
		}
		if len(ids) != 3 || ids["Laptop/1.0"] == "" {
			t.Fatalf("user agents as recorded: %v", ids)
		}
		// The public id is not the stored hash of the secret.
		var stored []byte
		if err := app.store.DB().QueryRow(`SELECT id FROM sessions WHERE user_agent = 'Phone/2.0'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ReplaceAll(ids["Phone/2.0"], "-", ""), hex.EncodeToString(stored)[:16]) {
			t.Fatal("the public id shows the stored session hash")
		}

		// Probing: malformed, unknown and another user's ids all look alike.
		bobList := sessionsOf(t, bob.do(t, "GET", "/api/v1/auth/sessions", ""))
		before := app.snapshot(t)
		for name, id := range map[string]string{"malformed": "not-a-uuid", "unknown": user.NewID().String(), "another user's": *bobList.Sessions[0].ID} {
			expect(t, "end "+name+" session", laptop.do(t, "DELETE", "/api/v1/auth/sessions/"+id, ""), 404, "session_not_found")
		}
		if app.snapshot(t) != before {
			t.Fatal("a refused end changed sessions")
		}

		expect(t, "end the phone's session", laptop.do(t, "DELETE", "/api/v1/auth/sessions/"+ids["Phone/2.0"], ""), 204, "")
		expect(t, "the phone after it ended", phone.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "the laptop", laptop.do(t, "GET", "/api/v1/auth/me", ""), 200, "")

		desk := login("alice.user", "Desk/4.0")
		expect(t, "log out everywhere else", tablet.do(t, "DELETE", "/api/v1/auth/sessions", ""), 204, "")
		for name, c := range map[string]*client{"laptop": laptop, "desk": desk} {
			expect(t, name+" after everywhere else", c.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		}
		expect(t, "the tablet", tablet.do(t, "GET", "/api/v1/auth/me", ""), 200, "")

		// Ending the current session logs out and expires the cookie.
		own := sessionsOf(t, tablet.do(t, "GET", "/api/v1/auth/sessions", ""))
		if len(own.Sessions) != 1 || !*own.Sessions[0].Current {
			t.Fatalf("tablet's list: %+v", own)
		}
		r = tablet.do(t, "DELETE", "/api/v1/auth/sessions/"+*own.Sessions[0].ID, "")
		expect(t, "end the current session", r, 204, "")
		if c := r.sessionCookie(); c == nil || c.MaxAge >= 0 {
			t.Fatalf("cookie not expired: %v", c)
		}
		expect(t, "after ending the current session", tablet.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")

		// An admin sees and ends a user's sessions.
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		login("alice.user", "Again/5.0")
		r = admin.do(t, "GET", "/api/v1/users/sessions?username=ALICE.user", "")
		expect(t, "admin lists alice's sessions", r, 200, "")
		if l := sessionsOf(t, r); len(l.Sessions) != 1 || l.Sessions[0].UserAgent != "Again/5.0" || l.Sessions[0].Current != nil {
			t.Fatalf("admin's list: %s", r.body)
		}
		for n, want := range []string{`{"ended":1}`, `{"ended":0}`} {
			r = admin.do(t, "DELETE", "/api/v1/users/sessions", usernameBody("alice.user"))
			if r.status != 200 || strings.TrimSpace(string(r.body)) != want {
				t.Fatalf("admin ends alice's sessions (%d): %d %s", n, r.status, r.body)
			}
		}
		expect(t, "unknown parameter", admin.do(t, "GET", "/api/v1/users/sessions?username=alice.user&all=1", ""), 422, "validation_failed")
		expect(t, "unknown field", admin.do(t, "DELETE", "/api/v1/users/sessions", `{"username":"alice.user","all":true}`), 400, "bad_request")
		expect(t, "unknown user", admin.do(t, "GET", "/api/v1/users/sessions?username=nobody.here", ""), 404, "user_not_found")
		expect(t, "bob's own sessions still work", bob.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
	})
}

// TestSessionLimit: a login past auth.max_sessions_per_user ends the
// user's oldest session.
func TestSessionLimit(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_sessions_per_user": "2"}, func(t *testing.T, app *testApp) {
		u := app.seed(t, "alice.user", user.RoleUser)
		var clients []*client
		for range 3 {
			app.clock.Advance(time.Second)
			c := app.client()
			expect(t, "login", c.login(t, "alice.user", seedPassword), 200, "")
			clients = append(clients, c)
		}
		if n, _ := app.store.SessionCount(context.Background(), u.ID); n != 2 {
			t.Fatalf("%d sessions, want the limit of 2", n)
		}
		expect(t, "the oldest session", clients[0].do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		for _, c := range clients[1:] {
			expect(t, "a newer session", c.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
		}
	})
}
