package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/text/language"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/oidc/oidctest"
)

// TestOAuthWithGitHub: kind github against a fake GitHub (OAuth 2 with
// PKCE, the user and emails API): the identity is the numeric user id
// under the server, and only the primary address GitHub marks verified
// counts as verified.
func TestOAuthWithGitHub(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			gh := oidctest.NewGitHub(t)
			app := newTestApp(t, engine, withProviders(nil, map[string]any{"id": "github", "name": "GitHub", "kind": "github",
				"base_url": gh.URL, "api_url": gh.APIURL, "client_id": gh.ClientID, "client_secret": gh.ClientSecret, "trust_email": true}))
			gh.Queue(oidctest.GitHubUser{ID: 583231, Login: "octocat", Emails: []oidctest.GitHubEmail{
				{Email: "octo@other.example", Primary: false, Verified: true}, {Email: "octocat@github.example", Primary: true, Verified: true}}})
			c := app.client()
			c.oauthSignIn(t, "github", "/")
			if u, code := c.me(t); code != "" || u["username"] != "octocat" || u["email"] != "octocat@github.example" || u["email_verified"] != true {
				t.Fatalf("me: %v %s", u, code)
			}
			if got := app.dumpColumn(t, `SELECT issuer || ' ' || subject FROM identities`); got != gh.URL+" 583231" {
				t.Fatalf("identity %q", got)
			}
			// The login changed at GitHub: the id is the same account.
			gh.Queue(oidctest.GitHubUser{ID: 583231, Login: "octo-renamed", Emails: []oidctest.GitHubEmail{{Email: "octocat@github.example", Primary: true, Verified: true}}})
			b := app.client()
			b.oauthSignIn(t, "github", "/")
			if u, _ := b.me(t); u["username"] != "octocat" {
				t.Fatalf("signed in as %v", u)
			}
			// A primary address GitHub has not verified is not a verified claim.
			gh.Queue(oidctest.GitHubUser{ID: 9, Login: "hubot", Emails: []oidctest.GitHubEmail{{Email: "hubot@github.example", Primary: true, Verified: false}}})
			h := app.client()
			h.oauthSignIn(t, "github", "/")
			if u, _ := h.me(t); u["username"] != "hubot" || u["email_verified"] != false {
				t.Fatalf("unverified primary: %v", u)
			}
			// No emails scope: no address.
			gh.Queue(oidctest.GitHubUser{ID: 10, Login: "private-cat"})
			p := app.client()
			p.oauthSignIn(t, "github", "/")
			if u, _ := p.me(t); u["username"] != "private-cat" || u["email"] != nil {
				t.Fatalf("no address: %v", u)
			}
		})
	}
}

// p8 is a fresh .p8 key as Apple issues them (PKCS #8 PEM, EC P-256).
func p8(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestOAuthWithApple: kind apple against a stand-in of Sign in with Apple:
// the token call's client secret is an ES256 JWT of the .p8 key, the
// answer comes back as a cross-site form_post (through the re-post page),
// and Apple's string "true" verifies the address.
func TestOAuthWithApple(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			key, pemKey := p8(t)
			m := startMockOIDC(t, func(m *mockoidc.MockOIDC) {
				if err := oidctest.Apple(m, &key.PublicKey, "TEAM123456", "KEY1234567"); err != nil {
					t.Fatal(err)
				}
			})
			apple := map[string]any{"id": "apple", "name": "Apple", "kind": "apple", "issuer": m.Issuer(), "client_id": m.ClientID,
				"client_secret": pemKey, "team_id": "TEAM123456", "key_id": "KEY1234567", "trust_email": true}
			app := newTestApp(t, engine, withProviders(nil, apple))
			m.QueueUser(oidctest.AppleUser{Subject: "001234.abcdef", Email: "tim@privaterelay.appleid.example"})
			c := app.client()
			authURL := c.startOAuth(t, "apple", "/")
			if q := mustURL(t, authURL).Query(); q.Get("response_mode") != "form_post" || q.Get("scope") != "openid name email" {
				t.Fatalf("authorization URL %s", authURL)
			}
			page := c.get(t, authURL)
			fields := formOf(page.body)
			if page.status != http.StatusOK || fields.Get("code") == "" {
				t.Fatalf("Apple's answer: %d %s", page.status, page.body)
			}
			// Cross-site: no cookie; the re-post page; then same-site.
			crossSite := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := crossSite.PostForm(app.url+"/api/v1/auth/oauth/apple/callback", fields)
			if err != nil {
				t.Fatal(err)
			}
			again := formOf([]byte(readAll(resp)))
			resp.Body.Close()
			if again.Get("user") != fields.Get("user") || again.Get("reposted") != "1" {
				t.Fatalf("re-posted fields %v", again)
			}
			resp, err = c.noFollow().PostForm(app.url+"/api/v1/auth/oauth/apple/callback", again)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Fatalf("signed in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if u, _ := c.me(t); u["email"] != "tim@privaterelay.appleid.example" || u["email_verified"] != true {
				t.Fatalf("me: %v", u)
			}
		})
	}
}

// TestOAuthInABrowser: the whole redirect dance in headless Chromium with
// zitadel's provider on another site (127.0.0.1 against the service's
// localhost): its login page, its form_post page posting cross-site to
// the callback without the SameSite=Lax binding cookie, the re-post page
// (its script allowed by the nonce of its policy), and back at return_to
// signed in.
func TestOAuthInABrowser(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := browser(t)
			z := startZitadel(t, zitadelUsers{"id-grace": {ID: "id-grace", Username: "grace", Password: "verysecure", FirstName: "Grace", LastName: "Hopper",
				Email: "grace@navy.example", EmailVerified: true, PreferredLanguage: language.English}})
			ln := listen(t)
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			public := "http://localhost:" + port
			app := newTestAppOnListener(t, dbtest.URL(t, engine), ln, withProviders(map[string]string{"http.public_url": public}, z.provider("zitadel", "form_post")))
			z.register(public + "/api/v1/auth/oauth/zitadel/callback")
			err := chromedp.Do(ctx,
				chromedp.Navigate(public+"/api/v1/auth/oauth/zitadel/start?return_to=/api/v1/auth/me"),
				chromedp.WaitVisible("#username"),
				chromedp.SendKeys("#username", "grace"),
				chromedp.SendKeys("#password", "verysecure"),
				chromedp.Submit("#username"),
			)
			if err != nil {
				t.Fatalf("the provider's login: %v", err)
			}
			// Pages change under the evaluation: tried again until back.
			body := ""
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + " " + document.body.innerText`)); err == nil && strings.HasPrefix(page, "/api/v1/auth/me {") {
					body = page
					break
				}
			}
			if body == "" {
				t.Fatalf("not back signed in at %s\ncallbacks: %s", evaluate(t, ctx, "location.href"), app.logLines("/callback"))
			}
			if !strings.Contains(body, `"username":"grace"`) || !strings.Contains(body, `"email_verified":true`) {
				t.Fatalf("signed in as %s", body)
			}
			// The provider's POST came without the cookie and was posted
			// back: two callbacks, one 200 (the page), one 303.
			lines := app.logLines(`"route":"/api/v1/auth/oauth/:provider/callback"`)
			if strings.Count(lines, `"status":200`) != 1 || strings.Count(lines, `"status":303`) != 1 {
				t.Fatalf("callbacks:\n%s", lines)
			}
		})
	}
}
