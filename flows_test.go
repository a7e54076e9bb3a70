package main

import (
	"testing"
	"time"
)

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
