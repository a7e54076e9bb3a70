package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/shared/user"
)

// TestEmailAddresses: signup and admin creation take an optional address,
// unique ignoring case (409 email_taken) and checked strictly (422 naming
// email); every user object shows it and whether it is verified;
// auth.require_email makes it required.
func TestEmailAddresses(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		signup := func(name, email string) response {
			return c.do(t, "POST", "/api/v1/auth/signup", fmt.Sprintf(`{"username":%q,"password":"password1","email":%q}`, name, email))
		}
		r := signup("with.mail", "Alice.Smith@Example.com")
		expect(t, "signup with an address", r, 201, "")
		if u := r.json(t); u["email"] != "Alice.Smith@Example.com" || u["email_verified"] != false {
			t.Fatalf("signup body %s", r.body)
		}
		expect(t, "the same address in another case", signup("other.user", "alice.smith@EXAMPLE.COM"), 409, "email_taken")
		r = signup("other.user", "Alice <alice@example.com>")
		expect(t, "an address with a display name", r, 422, "validation_failed")
		if p := r.json(t); fmt.Sprint(p["errors"]) != "[map[field:email message:"+user.ErrEmailSyntax.Error()+"]]" {
			t.Fatalf("errors %v", p["errors"])
		}
		expect(t, "no address", signup("no.mail", ""), 201, "")
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		r = admin.do(t, "POST", "/api/v1/users", `{"username":"made.user","password":"password1","role":"user","email":"made@example.com"}`)
		expect(t, "admin creation with an address", r, 201, "")
		if u := r.json(t); u["email"] != "made@example.com" {
			t.Fatalf("creation body %s", r.body)
		}
		expect(t, "a taken address at creation", admin.do(t, "POST", "/api/v1/users", `{"username":"made.two","password":"password1","role":"user","email":"MADE@example.com"}`), 409, "email_taken")
		list := admin.do(t, "GET", "/api/v1/users?sort=username&order=asc", "")
		expect(t, "the list", list, 200, "")
		if !strings.Contains(string(list.body), `"email":"made@example.com","email_verified":false`) || !strings.Contains(string(list.body), `"username":"no.mail","email":null`) {
			t.Fatalf("list %s", list.body)
		}
		login := app.client()
		expect(t, "login", login.login(t, "with.mail", "password1"), 200, "")
		if u := login.do(t, "GET", "/api/v1/auth/me", "").json(t); u["email"] != "Alice.Smith@Example.com" {
			t.Fatalf("me %v", u)
		}
	})
	forEachApp(t, map[string]string{"auth.require_email": "true"}, func(t *testing.T, app *testApp) {
		r := app.client().signup(t, "no.mail", "password1")
		expect(t, "signup without an address when one is required", r, 422, "validation_failed")
		if !strings.Contains(string(r.body), `"field":"email","message":"email is required"`) {
			t.Fatalf("body %s", r.body)
		}
	})
}
