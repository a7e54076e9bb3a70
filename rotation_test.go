package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/platform/token"
)

// Secret generations of the rotation tests, each 32+ bytes.
const (
	secretA = "jwt-secret-A-0123456789abcdef0123456789"
	secretB = "jwt-secret-B-0123456789abcdef0123456789"
	pepper1 = "pepper-one-0123456789abcdef0123456789ab"
	pepper2 = "pepper-two-0123456789abcdef0123456789ab"
)

// kidOf returns the kid header of a session cookie's JWT.
func kidOf(t *testing.T, c *http.Cookie) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(c.Value, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// withCookie calls the app with a session cookie and no jar.
func withCookie(t *testing.T, app *testApp, method, path string, c *http.Cookie) response {
	t.Helper()
	return send(t, http.DefaultClient, method, app.url+path, "", "Cookie", c.Name+"="+c.Value)
}

// TestJWTSecretRotation: restarts of the service on one database with the
// secrets of a rotation. A cookie of the old secret keeps working after the
// rotation and comes back signed with the new one (same session); once
// the old secret is dropped only re-issued cookies work.
func TestJWTSecretRotation(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dbURL := dbtest.URL(t, engine)
			before := newTestAppOn(t, dbURL, map[string]string{"auth.jwt_secret": secretA})
			c := before.client()
			expect(t, "signup", c.signup(t, "rotating.user", "password1"), 201, "")
			login := c.login(t, "rotating.user", "password1")
			expect(t, "login", login, 200, "")
			old := login.sessionCookie()
			if kidOf(t, old) != token.KeyID(secretA) {
				t.Fatalf("cookie kid %q, want the id of secret A", kidOf(t, old))
			}

			rotated := newTestAppOn(t, dbURL, map[string]string{"auth.jwt_secret": secretB, "auth.jwt_previous_secrets": secretA})
			r := withCookie(t, rotated, "GET", "/api/v1/auth/me", old)
			expect(t, "me with an old-secret cookie after the rotation", r, 200, "")
			reissued := r.sessionCookie()
			if reissued == nil || kidOf(t, reissued) != token.KeyID(secretB) {
				t.Fatalf("old cookie not re-issued with secret B: %v", reissued)
			}
			u, _ := rotated.store.UserByUsername(context.Background(), "rotating.user")
			if n, _ := rotated.store.SessionCount(context.Background(), u.ID); n != 1 {
				t.Fatalf("%d sessions after the re-issue, want the same one", n)
			}
			expect(t, "me with the re-issued cookie", withCookie(t, rotated, "GET", "/api/v1/auth/me", reissued), 200, "")

			dropped := newTestAppOn(t, dbURL, map[string]string{"auth.jwt_secret": secretB})
			expect(t, "old cookie after dropping secret A", withCookie(t, dropped, "GET", "/api/v1/auth/me", old), 401, "not_authenticated")
			expect(t, "re-issued cookie after dropping secret A", withCookie(t, dropped, "GET", "/api/v1/auth/me", reissued), 200, "")
		})
	}
}

// TestPepperRotation: a hash of the old pepper logs in after the rotation
// and is upgraded to the new pepper in the same step; a hash whose pepper
// was dropped is refused exactly like a wrong password, and logged; the
// hash report counts both.
func TestPepperRotation(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dbURL := dbtest.URL(t, engine)
			before := newTestAppOn(t, dbURL, map[string]string{"password.pepper": pepper1})
			expect(t, "signup", before.client().signup(t, "moving.user", "password1"), 201, "")
			expect(t, "signup", before.client().signup(t, "staying.user", "password1"), 201, "")

			rotated := newTestAppOn(t, dbURL, map[string]string{"password.pepper": pepper2, "password.previous_peppers": pepper1})
			expect(t, "old-pepper login after the rotation", rotated.client().login(t, "moving.user", "password1"), 200, "")
			u, err := rotated.store.UserByUsername(ctx, "moving.user")
			if id, _ := password.Describe(u.PasswordHash); err != nil || id != password.PepperID(pepper2) {
				t.Fatalf("hash not upgraded to the new pepper: %s %v", u.PasswordHash, err)
			}

			settings := map[string]string{"password.pepper": pepper2, "database.url": dbURL, "password.argon2_memory_kib": "64", "password.argon2_iterations": "1"}
			var report bytes.Buffer
			if err := run(ctx, []string{"--config", writeConfig(t, settings), "users", "hashes"}, &report, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{password.PepperID(pepper2): "password.pepper (current)", password.PepperID(pepper1): "NOT CONFIGURED"} {
				found := false
				for _, line := range strings.Split(report.String(), "\n") {
					f := strings.Fields(line)
					found = found || len(f) > 2 && f[0] == id && strings.Contains(line, want) && f[len(f)-1] == "1"
				}
				if !found {
					t.Errorf("hash report lacks %s %q with 1 hash:\n%s", id, want, report.String())
				}
			}

			dropped := newTestAppOn(t, dbURL, map[string]string{"password.pepper": pepper2})
			gone := dropped.client().login(t, "staying.user", "password1")
			wrong := dropped.client().login(t, "moving.user", "wrong password")
			expect(t, "login on a dropped pepper", gone, 401, "invalid_credentials")
			expect(t, "wrong password", wrong, 401, "invalid_credentials")
			if g, w := gone.json(t), wrong.json(t); g["detail"] != w["detail"] || g["title"] != w["title"] || g["type"] != w["type"] {
				t.Fatalf("a dropped pepper is told apart from a wrong password: %s vs %s", gone.body, wrong.body)
			}
			if !strings.Contains(dropped.logs.String(), password.PepperID(pepper1)) {
				t.Errorf("the dropped pepper's id is not logged:\n%s", dropped.logs.String())
			}
			expect(t, "upgraded user after the drop", dropped.client().login(t, "moving.user", "password1"), 200, "")
		})
	}
}
