package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"

	"github.com/cleanslice/cleanslice/platform/dbtest"
)

// zitadelOP is the OpenID provider of github.com/zitadel/oidc (pkg/op
// with its example storage and login page), run in the test process: a
// complete provider whose ID tokens carry no address (it is read from its
// user info) and which can answer with form_post.
type zitadelOP struct {
	issuer  string
	clients map[string]*storage.Client
	mu      *sync.Mutex
}

// zitadelUsers are the provider's accounts, by id (the subject).
type zitadelUsers map[string]*storage.User

func (u zitadelUsers) GetUserByID(id string) *storage.User { return u[id] }
func (u zitadelUsers) ExampleClientID() string             { return "service" }
func (u zitadelUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}

// startZitadel runs the provider with users; register its client once
// the redirect URI is known.
func startZitadel(t *testing.T, users zitadelUsers) *zitadelOP {
	t.Helper()
	ln := listen(t)
	z := &zitadelOP{issuer: "http://" + ln.Addr().String(), clients: map[string]*storage.Client{}, mu: &sync.Mutex{}}
	st := storage.NewStorageWithClients(users, z.clients)
	srv := &http.Server{Handler: exampleop.SetupServer(z.issuer, st, nil, false), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return z
}

// register makes the client "cleanslice" (secret "zitadel-secret", basic
// auth) with redirectURI.
func (z *zitadelOP) register(redirectURI string) {
	z.clients["cleanslice"] = storage.WebClient("cleanslice", "zitadel-secret", redirectURI)
}

func (z *zitadelOP) provider(id, mode string) map[string]any {
	return map[string]any{"id": id, "name": "Zitadel", "kind": "oidc", "issuer": z.issuer, "client_id": "cleanslice",
		"client_secret": "zitadel-secret", "trust_email": true, "response_mode": mode}
}

// signIn plays the browser c at the provider: the authorization URL, its
// login page, a username and password; it returns the provider's last
// answer (a redirect to the callback, or its form_post page).
func (z *zitadelOP) signIn(t *testing.T, c *client, authURL, username, password string) response {
	t.Helper()
	r := c.get(t, authURL)
	login := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.Contains(login, "/login/username?authRequestID=") {
		t.Fatalf("authorize: %d %q %s", r.status, login, r.body)
	}
	id := mustURL(t, login).Query().Get("authRequestID")
	form := url.Values{"id": {id}, "username": {username}, "password": {password}}
	resp, err := c.noFollow().PostForm(z.issuer+"/login/username", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	next := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if strings.HasPrefix(next, "/") {
		next = z.issuer + next
	}
	return c.get(t, next)
}

var formField = regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`)

// formOf reads the fields of an auto-posting form page.
func formOf(page []byte) url.Values {
	v := url.Values{}
	for _, m := range formField.FindAllStringSubmatch(string(page), -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// TestOAuthWithZitadel: a complete OpenID provider, by discovery, with
// its login page: an account is made from its user info (the ID token
// carries no address), signed in again by the same identity; and its
// form_post answer, posted cross-site without the binding cookie, goes
// through the re-post page.
func TestOAuthWithZitadel(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			z := startZitadel(t, zitadelUsers{"id-ada": {ID: "id-ada", Username: "ada@corp", Password: "verysecure", FirstName: "Ada", LastName: "Lovelace",
				Email: "ada@corp.example", EmailVerified: true, PreferredLanguage: language.English}})
			app := newTestApp(t, engine, withProviders(nil, z.provider("zitadel", "query"), z.provider("zpost", "form_post")))
			z.register(app.cfg.HTTP.PublicURL + "/api/v1/auth/oauth/zitadel/callback")
			c := app.client()
			r := z.signIn(t, c, c.startOAuth(t, "zitadel", "/z"), "ada@corp", "verysecure")
			if r.status != http.StatusFound {
				t.Fatalf("back from the provider: %d %s", r.status, r.body)
			}
			r = c.get(t, r.header.Get("Location"))
			expect(t, "callback", r, http.StatusSeeOther, "")
			if to := r.header.Get("Location"); to != "/z" {
				t.Fatalf("to %q", to)
			}
			u, code := c.me(t)
			if code != "" || !strings.HasPrefix(u["username"].(string), "ada.") || u["email"] != "ada@corp.example" || u["email_verified"] != true {
				t.Fatalf("me: %v %s", u, code)
			}
			if got := app.dumpColumn(t, `SELECT issuer || ' ' || subject FROM identities`); got != z.issuer+" id-ada" {
				t.Fatalf("identity %q", got)
			}

			// form_post: the provider's page posts to the callback from
			// its own site, without the binding cookie.
			z.register(app.cfg.HTTP.PublicURL + "/api/v1/auth/oauth/zpost/callback")
			b := app.client()
			page := z.signIn(t, b, b.startOAuth(t, "zpost", "/p"), "ada@corp", "verysecure")
			fields := formOf(page.body)
			if page.status != http.StatusOK || fields.Get("code") == "" || fields.Get("state") == "" {
				t.Fatalf("form_post page: %d %s", page.status, page.body)
			}
			crossSite := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := crossSite.PostForm(app.url+"/api/v1/auth/oauth/zpost/callback", fields)
			if err != nil {
				t.Fatal(err)
			}
			repost := []byte(readAll(resp))
			resp.Body.Close()
			again := formOf(repost)
			if resp.StatusCode != http.StatusOK || again.Get("code") != fields.Get("code") || again.Get("reposted") != "1" {
				t.Fatalf("re-post page: %d %s", resp.StatusCode, repost)
			}
			resp, err = b.noFollow().PostForm(app.url+"/api/v1/auth/oauth/zpost/callback", again)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/p" {
				t.Fatalf("posted back: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if u2, _ := b.me(t); u2["id"] != u["id"] {
				t.Fatalf("signed in as %v", u)
			}
		})
	}
}
