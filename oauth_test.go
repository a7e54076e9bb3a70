package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/passkeys/passkeystest"
	"github.com/cleanslice/cleanslice/shared/user"
)

// startMockOIDC runs an OpenID provider in the test process (mockoidc);
// prepare, when set, adjusts it before it starts.
func startMockOIDC(t *testing.T, prepare func(m *mockoidc.MockOIDC)) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(m)
	}
	if err := m.Start(listen(t), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// forEachAppWithMocks runs test on each engine, each with n mock
// providers of its own (a mock's queued users belong to one subtest),
// configured by settings.
func forEachAppWithMocks(t *testing.T, n int, settings func(ms []*mockoidc.MockOIDC) map[string]string, test func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC)) {
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ms := make([]*mockoidc.MockOIDC, n)
			for k := range ms {
				ms[k] = startMockOIDC(t, nil)
			}
			test(t, newTestApp(t, engine, settings(ms)), ms)
		})
	}
}

// providerOf is the [[oauth.providers]] table of a mock provider, with
// the policy's keys added (trust_email, link_by_email, allow_signup...).
func providerOf(id string, m *mockoidc.MockOIDC, policy map[string]any) map[string]any {
	p := map[string]any{"id": id, "name": strings.ToUpper(id[:1]) + id[1:], "kind": "oidc", "issuer": m.Issuer(),
		"client_id": m.ClientID, "client_secret": m.ClientSecret}
	for k, v := range policy {
		p[k] = v
	}
	return p
}

// withProviders returns settings with oauth.providers set to providers.
func withProviders(settings map[string]string, providers ...map[string]any) map[string]string {
	b, _ := json.Marshal(providers)
	out := map[string]string{"oauth.providers": string(b)}
	maps.Copy(out, settings)
	return out
}

// trustedPolicy trusts the provider's verified addresses and links by them.
var trustedPolicy = map[string]any{"trust_email": true, "link_by_email": "verified"}

// noFollow is the browser c as a client that stops at every redirect.
func (c *client) noFollow() *http.Client {
	return &http.Client{Jar: c.http.Jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get makes one GET of an absolute URL as the browser c, stopping at a
// redirect.
func (c *client) get(t *testing.T, u string) response {
	t.Helper()
	return send(t, c.noFollow(), "GET", u, "")
}

// startOAuth starts a sign-in with provider at the service and returns
// the provider's authorization URL.
func (c *client) startOAuth(t *testing.T, provider, returnTo string) string {
	t.Helper()
	r := c.get(t, c.app.url+"/api/v1/auth/oauth/"+provider+"/start?return_to="+url.QueryEscape(returnTo))
	expect(t, "start", r, http.StatusFound, "")
	return r.header.Get("Location")
}

// atProvider plays the browser at a mock provider, which authenticates
// at once: it returns the callback URL the provider sends it back to.
func (c *client) atProvider(t *testing.T, authURL string) string {
	t.Helper()
	r := c.get(t, authURL)
	if r.status != http.StatusFound {
		t.Fatalf("at the provider: %d %s", r.status, r.body)
	}
	return r.header.Get("Location")
}

// oauthSignIn is the whole redirect dance of the browser c with provider:
// the start, the provider, the callback, whose 303 it returns with where
// it leads.
func (c *client) oauthSignIn(t *testing.T, provider, returnTo string) (response, string) {
	t.Helper()
	r := c.get(t, c.atProvider(t, c.startOAuth(t, provider, returnTo)))
	expect(t, "callback", r, http.StatusSeeOther, "")
	return r, r.header.Get("Location")
}

func mockUser(subject, email string, verified bool, name string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: subject, Email: email, EmailVerified: verified, PreferredUsername: name}
}

// me is the signed-in user of c, or the problem code.
func (c *client) me(t *testing.T) (map[string]any, string) {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/auth/me", "")
	if r.status != 200 {
		return nil, problemCode(r)
	}
	return r.json(t), ""
}

// TestOAuthSignUpAndReturningSignIn: a new identity makes an account (a
// valid username from the provider's name, the address verified by a
// trusted provider, no usable password) and signs it in with the
// provider as its one factor; the same identity signs the same account in
// again after its address changed at the provider.
func TestOAuthSignUpAndReturningSignIn(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("corp", ms[0], map[string]any{"trust_email": true}))
	}
	forEachAppWithMocks(t, 1, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		m := ms[0]
		c := app.client()
		expect(t, "providers", c.do(t, "GET", "/api/v1/auth/oauth/providers", ""), 200, "")
		if got := strings.TrimSpace(string(c.do(t, "GET", "/api/v1/auth/oauth/providers", "").body)); got != `{"providers":[{"id":"corp","name":"Corp"}]}` {
			t.Fatalf("providers %s", got)
		}
		subject := "sub-" + strings.ReplaceAll(t.Name(), "/", "-")
		m.QueueUser(mockUser(subject, "jane@example.com", true, "jane doe"))
		r, to := c.oauthSignIn(t, "corp", "/welcome")
		if to != "/welcome" || r.sessionCookie() == nil {
			t.Fatalf("signed up: to %q, cookie %v", to, r.sessionCookie())
		}
		u, code := c.me(t)
		if code != "" || u["username"] != "jane.doe" || u["email"] != "jane@example.com" || u["email_verified"] != true || u["role"] != "user" {
			t.Fatalf("me: %v %s", u, code)
		}
		s := sessionsOf(t, c.do(t, "GET", "/api/v1/auth/sessions", ""))
		if len(s.Sessions) != 1 || s.Sessions[0].AAL != 1 || !slices.Equal(s.Sessions[0].Methods, []string{"oidc"}) {
			t.Fatalf("sessions %+v", s)
		}
		id := app.userID(t, "jane.doe")
		events := app.eventsOf(t, id)
		if e := last(t, events, "user.signed_up"); e.Details["via"] != "oauth" || e.Details["provider"] != "corp" {
			t.Fatalf("signed up: %+v", e)
		}
		if e := last(t, events, "login.succeeded"); fmt.Sprint(e.Details["methods"]) != "[oidc]" || e.Details["provider"] != "corp" {
			t.Fatalf("login: %+v", e)
		}
		if h := app.dumpColumn(t, `SELECT password_hash FROM users WHERE username = 'jane.doe'`); h != user.NoPassword {
			t.Fatalf("password hash %q", h)
		}
		// No password logs in: a password login fails like a wrong one.
		expect(t, "a password login", app.client().login(t, "jane.doe", "!"), 401, "invalid_credentials")
		var report strings.Builder
		if err := usersCommand(t.Context(), app.cfg, []string{"hashes"}, nil, &report, io.Discard); err != nil || !regexp.MustCompile(`(?m)^-  +no password \(accounts made through an identity provider\) +- +1$`).MatchString(report.String()) {
			t.Fatalf("users hashes: %v\n%s", err, report.String())
		}
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")

		// The address changed at the provider: the identity is the same.
		m.QueueUser(mockUser(subject, "jane.new@example.org", true, "someone else"))
		r, _ = c.oauthSignIn(t, "corp", "")
		if u, _ := c.me(t); u["username"] != "jane.doe" || u["email"] != "jane@example.com" {
			t.Fatalf("signed in again as %v", u)
		}
		if n := app.count(t, "users"); n != 1 {
			t.Fatalf("%d users", n)
		}
		if got := app.dumpColumn(t, `SELECT email FROM identities`); got != "jane.new@example.org" {
			t.Fatalf("the identity's last address %q", got)
		}
		if r.header.Get("Location") != "/" {
			t.Fatalf("default return_to: %q", r.header.Get("Location"))
		}
		// Signed in, a start is refused.
		expect(t, "start while signed in", c.get(t, app.url+"/api/v1/auth/oauth/corp/start"), 403, "already_authenticated")
	})
}

// TestOAuthFlowRefusals: a state is spent once and lives 10 minutes; a
// callback in another browser than the start's (no binding cookie) is
// refused and spends the state; an unknown provider is 404, a provider
// that refuses (the user cancelled) is provider_error. Each refusal is
// recorded and counts in the client's login window.
func TestOAuthFlowRefusals(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("corp", ms[0], nil))
	}
	forEachAppWithMocks(t, 1, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		c := app.client()
		callback := c.atProvider(t, c.startOAuth(t, "corp", "/here"))
		r := c.get(t, callback)
		expect(t, "callback", r, 303, "")
		r = c.get(t, callback)
		if to := r.header.Get("Location"); r.status != 303 || to != "/#error=oauth_state_invalid" || r.sessionCookie() != nil {
			t.Fatalf("replayed: %d %q", r.status, to)
		}

		// Another browser (without the binding cookie): refused before
		// anything is spent or counted; the flow is still the first's.
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
		callback = c.atProvider(t, c.startOAuth(t, "corp", "/here"))
		other := app.client()
		if r := other.get(t, callback); r.header.Get("Location") != "/#error=oauth_state_invalid" || r.sessionCookie() != nil {
			t.Fatalf("another browser: %q", r.header.Get("Location"))
		}
		if r := c.get(t, callback); r.status != 303 || r.header.Get("Location") != "/here" || r.sessionCookie() == nil {
			t.Fatalf("the first browser after: %d %q", r.status, r.header.Get("Location"))
		}

		// Expired: the callback 10 minutes after the start.
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
		callback = c.atProvider(t, c.startOAuth(t, "corp", "/here"))
		app.clock.Advance(10 * time.Minute)
		if r := c.get(t, callback); r.header.Get("Location") != "/#error=oauth_state_invalid" {
			t.Fatalf("expired: %q", r.header.Get("Location"))
		}

		// The provider refused.
		authURL := c.startOAuth(t, "corp", "/here")
		state := mustURL(t, authURL).Query().Get("state")
		if r := c.get(t, app.url+"/api/v1/auth/oauth/corp/callback?error=access_denied&state="+url.QueryEscape(state)); r.header.Get("Location") != "/here#error=provider_error" {
			t.Fatalf("cancelled: %q", r.header.Get("Location"))
		}
		// Another provider's flow.
		expect(t, "unknown provider", c.get(t, app.url+"/api/v1/auth/oauth/other/callback?state=x&code=y"), 404, "provider_not_found")
		expect(t, "unknown provider start", c.get(t, app.url+"/api/v1/auth/oauth/other/start"), 404, "provider_not_found")
		if n := app.count(t, "users"); n != 1 {
			t.Fatalf("%d users", n)
		}
		reasons := app.dumpColumn(t, `SELECT details FROM audit_events WHERE type = 'login.failed' ORDER BY occurred_at, id`)
		// Recorded and counted: the expired flow and the provider's refusal.
		// The replay (its binding cookie cleared by the first answer) and
		// the other browser carried no binding cookie: neither.
		if strings.Count(reasons, "oauth_state_invalid") != 1 || strings.Count(reasons, "provider_error") != 1 {
			t.Fatalf("recorded: %s", reasons)
		}
		if n := windowCount(t, app.store, "ip:127.0.0.1"); n != 2 {
			t.Fatalf("the client's login window holds %d, want the 2 refusals", n)
		}
	})
}

// TestRefusedCallbacksAreThrottled: refused callbacks count in the
// client's login window; once it is full, a callback is 429 before its
// state is looked at, and a sign-in that succeeds counts nothing.
func TestRefusedCallbacksAreThrottled(t *testing.T) {
	m := startMockOIDC(t, nil)
	app := newTestApp(t, "sqlite", withProviders(nil, providerOf("corp", m, nil)))
	c := app.client()
	c.oauthSignIn(t, "corp", "")
	if n := windowCount(t, app.store, "ip:127.0.0.1"); n > 0 {
		t.Fatalf("a sign-in counted: %d", n)
	}
	expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
	// Each forged state from a browser with a flow of its own (the binding
	// cookie a start sets, which each answer clears): without one, a
	// callback is refused before it counts (TestCrossSiteLoadsLockNobodyOut).
	for k := range loginFailuresPerIP {
		c.startOAuth(t, "corp", "")
		if r := c.get(t, app.url+"/api/v1/auth/oauth/corp/callback?code=x&state=forged"+fmt.Sprint(k)); r.status != 303 {
			t.Fatalf("refusal %d: %d", k, r.status)
		}
	}
	c.startOAuth(t, "corp", "")
	expect(t, "past the window", c.get(t, app.url+"/api/v1/auth/oauth/corp/callback?code=x&state=forged"), 429, "too_many_attempts")
}

// claimsUser is a mock user whose ID token's claims the test alters.
type claimsUser struct {
	mockoidc.MockUser
	alter func(c *mockoidc.IDTokenClaims)
}

func (u *claimsUser) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	u.alter(c)
	return u.MockUser.Claims(scope, c)
}

// TestOAuthIDTokenRefusals: an ID token for another client, expired,
// with another flow's nonce, or signed by a key the provider does not
// publish signs nobody in or up: #error=id_token_invalid, recorded.
func TestOAuthIDTokenRefusals(t *testing.T) {
	for _, c := range []struct {
		name    string
		alter   func(c *mockoidc.IDTokenClaims)
		prepare func(m *mockoidc.MockOIDC)
	}{
		{name: "audience", alter: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }},
		{name: "expiry", alter: func(c *mockoidc.IDTokenClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Second)) }},
		{name: "nonce", alter: func(c *mockoidc.IDTokenClaims) { c.Nonce = "another flow's" }},
		{name: "unknown key", prepare: func(m *mockoidc.MockOIDC) {
			other, err := mockoidc.RandomKeypair(2048)
			if err != nil {
				panic(err)
			}
			m.Keypair = &mockoidc.Keypair{PrivateKey: other.PrivateKey, PublicKey: m.Keypair.PublicKey}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startMockOIDC(t, c.prepare)
			alter := c.alter
			if alter == nil {
				alter = func(*mockoidc.IDTokenClaims) {}
			}
			m.QueueUser(&claimsUser{MockUser: *mockUser("mallory", "mallory@example.com", true, "mallory"), alter: alter})
			app := newTestApp(t, "sqlite", withProviders(nil, providerOf("corp", m, nil)))
			b := app.client()
			r := b.get(t, b.atProvider(t, b.startOAuth(t, "corp", "/x")))
			if to := r.header.Get("Location"); to != "/x#error=id_token_invalid" || r.sessionCookie() != nil {
				t.Fatalf("%d to %q", r.status, to)
			}
			if n := app.count(t, "users"); n != 0 {
				t.Fatalf("%d users made", n)
			}
			if got := app.dumpColumn(t, `SELECT details FROM audit_events WHERE type = 'login.failed'`); !strings.Contains(got, "id_token_invalid") {
				t.Fatalf("recorded: %s", got)
			}
		})
	}
}

// TestOAuthLinkingPolicy: an address links only when the provider is
// trusted, its claim verified, link_by_email = verified, and the address
// verified here; the pre-hijack and nOAuth cases of SPEC 4d end to end.
func TestOAuthLinkingPolicy(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("trusted", ms[0], trustedPolicy), providerOf("untrusted", ms[1], map[string]any{"allow_signup": true}),
			providerOf("never", ms[2], map[string]any{"trust_email": true}))
	}
	forEachAppWithMocks(t, 3, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		trusted, untrusted, never := ms[0], ms[1], ms[2]
		sub := func(s string) string { return s + "-" + strings.ReplaceAll(t.Name(), "/", "-") }
		// The victim has an account with a verified address.
		victim := app.seed(t, "victim.user", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'victim@example.com', email_verified_at = created_at WHERE id = $1`, victim.ID); err != nil {
			t.Fatal(err)
		}
		// nOAuth: an untrusted provider claims the victim's address verified.
		untrusted.QueueUser(mockUser(sub("attacker"), "victim@example.com", true, "attacker"))
		c := app.client()
		if _, to := c.oauthSignIn(t, "untrusted", "/in"); to != "/in#error=identity_account_exists" {
			t.Fatalf("nOAuth: %q", to)
		}
		// A trusted provider whose link_by_email is never: sign in, then link.
		never.QueueUser(mockUser(sub("victim-never"), "victim@example.com", true, "victim"))
		if _, to := c.oauthSignIn(t, "never", "/in"); to != "/in#error=identity_account_exists" {
			t.Fatalf("link_by_email never: %q", to)
		}
		// A trusted provider's claim it does not say is verified.
		trusted.QueueUser(mockUser(sub("victim-unverified"), "victim@example.com", false, "victim"))
		if _, to := c.oauthSignIn(t, "trusted", "/in"); to != "/in#error=identity_account_exists" {
			t.Fatalf("an unverified claim: %q", to)
		}
		if n := app.count(t, "identities"); n != 0 || app.count(t, "users") != 1 {
			t.Fatalf("%d identities, %d users after the refusals", n, app.count(t, "users"))
		}
		failed := app.eventsOf(t, victim.ID)
		if e := last(t, failed, "login.failed"); e.Details["reason"] != "identity_conflict" {
			t.Fatalf("recorded against the victim: %+v", e)
		}
		// A trusted provider's verified claim links, with a notice.
		trusted.QueueUser(mockUser(sub("victim"), "Victim@Example.com", true, "victim"))
		if _, to := c.oauthSignIn(t, "trusted", "/in"); to != "/in" {
			t.Fatalf("linked: %q", to)
		}
		if u, _ := c.me(t); u["username"] != "victim.user" {
			t.Fatalf("signed in as %v", u)
		}
		if e := last(t, app.eventsOf(t, victim.ID), "identity.linked"); e.Details["via"] != "email_match" || e.Details["provider"] != "trusted" {
			t.Fatalf("linked: %+v", e)
		}
		if n := app.mailCount(t, "identity_linked"); n != 1 {
			t.Fatalf("%d identity_linked notices", n)
		}

		// Pre-hijack: an attacker registers the address of someone who
		// has no account yet; that person's trusted sign-in makes an
		// account of their own, verified, and clears the attacker's claim.
		expect(t, "attacker signup", app.client().do(t, "POST", "/api/v1/auth/signup", `{"username":"attacker","password":"attacker password","email":"newbie@example.com"}`), 201, "")
		trusted.QueueUser(mockUser(sub("newbie"), "newbie@example.com", true, "newbie"))
		n := app.client()
		if _, to := n.oauthSignIn(t, "trusted", "/in"); to != "/in" {
			t.Fatalf("pre-hijack: %q", to)
		}
		if u, _ := n.me(t); u["username"] != "newbie" || u["email"] != "newbie@example.com" || u["email_verified"] != true {
			t.Fatalf("the newcomer: %v", u)
		}
		if got := app.dumpColumn(t, `SELECT coalesce(email, 'none') FROM users WHERE username = 'attacker'`); got != "none" {
			t.Fatalf("the attacker's claim: %q", got)
		}
		a := app.client()
		expect(t, "attacker login", a.login(t, "attacker", "attacker password"), 200, "")
		if u, _ := a.me(t); u["id"] == app.userID(t, "newbie").String() {
			t.Fatal("the attacker is in the newcomer's account")
		}

		// An untrusted provider's verified address makes an account with
		// the address unverified, beside an unverified claim.
		untrusted.QueueUser(mockUser(sub("other"), "shared@example.com", true, "other person"))
		o := app.client()
		if _, to := o.oauthSignIn(t, "untrusted", "/in"); to != "/in" {
			t.Fatalf("untrusted signup: %q", to)
		}
		if u, _ := o.me(t); u["email"] != "shared@example.com" || u["email_verified"] != false {
			t.Fatalf("untrusted: %v", u)
		}
		if n := app.mailCount(t, "verify_email"); n < 2 {
			t.Fatalf("%d verification messages: none for the unverified address", n)
		}
	})
}

// TestOAuthSecondFactorAndInactive: a user with a second factor gets the
// pending login of a password login (the provider as the first factor),
// which their code finishes at aal 2; an inactive account is refused.
func TestOAuthSecondFactorAndInactive(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("corp", ms[0], trustedPolicy))
	}
	forEachAppWithMocks(t, 1, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		m := ms[0]
		e := app.enroll(t, "ada.user", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'ada@example.com', email_verified_at = created_at WHERE id = $1`, e.user.ID); err != nil {
			t.Fatal(err)
		}
		subject := "ada-" + strings.ReplaceAll(t.Name(), "/", "-")
		m.QueueUser(mockUser(subject, "ada@example.com", true, "ada"))
		c := app.client()
		r, to := c.oauthSignIn(t, "corp", "/app")
		if to != "/app#mfa_required" || r.sessionCookie() == nil {
			t.Fatalf("with a second factor: %q", to)
		}
		if _, code := c.me(t); code != "mfa_required" {
			t.Fatalf("the pending login reads me: %q", code)
		}
		expect(t, "second step", c.do(t, "POST", "/api/v1/auth/login/mfa", app.codeBody(t, e.secret)), 200, "")
		s := sessionsOf(t, c.do(t, "GET", "/api/v1/auth/sessions", ""))
		var mine []string
		for _, x := range s.Sessions {
			if x.Current != nil && *x.Current {
				mine = x.Methods
				if x.AAL != 2 {
					t.Fatalf("aal %d", x.AAL)
				}
			}
		}
		if !slices.Equal(mine, []string{"oidc", "totp"}) {
			t.Fatalf("methods %v", mine)
		}

		// Inactive: refused, recorded against the account.
		admin := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		expect(t, "inactivate", admin.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody("ada.user")), 200, "")
		m.QueueUser(mockUser(subject, "ada@example.com", true, "ada"))
		if _, to := app.client().oauthSignIn(t, "corp", "/app"); to != "/app#error=account_inactive" {
			t.Fatalf("inactive: %q", to)
		}
		if ev := last(t, app.eventsOf(t, e.user.ID), "login.failed"); ev.Details["reason"] != "account_inactive" {
			t.Fatalf("recorded %+v", ev)
		}
	})
}

// TestOAuthReturnTo: return_to is a path here or a URL on a trusted
// origin; anything else is 422 at the start, before any flow is stored.
func TestOAuthReturnTo(t *testing.T) {
	m := startMockOIDC(t, nil)
	app := newTestApp(t, "sqlite", withProviders(map[string]string{"http.trusted_origins": "https://app.example.com"}, providerOf("corp", m, nil)))
	c := app.client()
	for _, bad := range []string{"//evil.example.com/", "https://evil.example.com/", "/x#y", "javascript:alert(1)", "/\\evil.example.com"} {
		r := c.get(t, app.url+"/api/v1/auth/oauth/corp/start?return_to="+url.QueryEscape(bad))
		expect(t, "return_to "+bad, r, 422, "validation_failed")
	}
	if n := app.count(t, "oauth_flows"); n != 0 {
		t.Fatalf("%d flows stored", n)
	}
	if _, to := c.oauthSignIn(t, "corp", "https://app.example.com/signed-in?x=1"); to != "https://app.example.com/signed-in?x=1" {
		t.Fatalf("to a trusted origin: %q", to)
	}
}

// TestOAuthAcrossReplicas: a flow started on one replica finishes on
// another (one PostgreSQL behind them).
func TestOAuthAcrossReplicas(t *testing.T) {
	t.Parallel()
	m := startMockOIDC(t, nil)
	dbURL := dbtest.URL(t, "postgres")
	one := newTestAppOn(t, dbURL, withProviders(nil, providerOf("corp", m, nil)))
	// Behind one public URL: the redirect URI is the same on both.
	two := newTestAppOn(t, dbURL, withProviders(map[string]string{"http.public_url": one.cfg.HTTP.PublicURL}, providerOf("corp", m, nil)))
	c := one.client()
	callback := c.atProvider(t, c.startOAuth(t, "corp", "/"))
	r := c.get(t, strings.Replace(callback, one.url, two.url, 1))
	if r.status != 303 || r.header.Get("Location") != "/" || r.sessionCookie() == nil {
		t.Fatalf("finished on the other replica: %d %q", r.status, r.header.Get("Location"))
	}
}

// TestOAuthFormPostRepost: a form_post callback without the binding
// cookie (a cross-site POST leaves it out) is answered a page of this
// origin that posts the same fields back, spending nothing; the POST back
// with the cookie signs in.
func TestOAuthFormPostRepost(t *testing.T) {
	m := startMockOIDC(t, nil)
	app := newTestApp(t, "sqlite", withProviders(nil, providerOf("corp", m, nil)))
	c := app.client()
	back := mustURL(t, c.atProvider(t, c.startOAuth(t, "corp", "/")))
	form := back.Query()
	bare := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	callback := app.url + back.Path
	post := func(hc *http.Client, body string) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, callback, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		fmt.Fprint(&b, readAll(resp))
		r := response{status: resp.StatusCode, header: resp.Header, body: []byte(b.String())}
		checkAgainstDoc(t, "POST", callback, r)
		return r
	}
	r := post(bare, form.Encode())
	csp := r.header.Get("Content-Security-Policy")
	if r.status != 200 || !strings.Contains(csp, "script-src 'nonce-") || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
		t.Fatalf("re-post page: %d %s", r.status, csp)
	}
	nonce := csp[strings.Index(csp, "'nonce-")+7 : strings.Index(csp, "'; form")]
	for _, want := range []string{`name="state" value="` + form.Get("state") + `"`, `name="code" value="` + form.Get("code") + `"`, `name="reposted" value="1"`, `<script nonce="` + nonce + `">`} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("the page lacks %s:\n%s", want, r.body)
		}
	}
	if n := app.count(t, "oauth_flows"); n != 1 {
		t.Fatal("the re-post page spent the flow")
	}
	form.Set("reposted", "1")
	r = post(c.noFollow(), form.Encode())
	if r.status != 303 || r.header.Get("Location") != "/" || r.sessionCookie() == nil {
		t.Fatalf("posted back: %d %q", r.status, r.header.Get("Location"))
	}
	// A form is what the route takes: JSON is refused.
	req, _ := http.NewRequest(http.MethodPost, callback, strings.NewReader(`{"state":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := bare.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("a JSON body: %d", resp.StatusCode)
	}
	// Cross-site, the route is open to the provider's form, and no other
	// route is.
	req, _ = http.NewRequest(http.MethodPost, callback, strings.NewReader("state=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://appleid.apple.com")
	resp, err = bare.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a cross-site form post: %d", resp.StatusCode)
	}
	expect(t, "a cross-site post elsewhere", send(t, bare, "POST", app.url+"/api/v1/auth/login", credentials("a", "b"), "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example.com"), 403, "forbidden")
}

// listen returns a loopback listener for a server of the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// linkWith links provider to the signed-in browser c with its password
// (none: a password-less account's recent sign-in): the call, the
// provider, the callback; it returns where the callback sends the browser.
func (c *client) linkWith(t *testing.T, provider, password string) string {
	t.Helper()
	body := `{"return_to":"/linked"}`
	if password != "" {
		body = `{"current_password":"` + password + `","return_to":"/linked"}`
	}
	r := c.do(t, "POST", "/api/v1/auth/identities/"+provider, body)
	expect(t, "link "+provider, r, 200, "")
	var res struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	json.Unmarshal(r.body, &res)
	cb := c.get(t, c.atProvider(t, res.AuthorizationURL))
	expect(t, "link callback", cb, http.StatusSeeOther, "")
	return cb.header.Get("Location")
}

type identityList struct {
	Identities []struct {
		ID         string  `json:"id"`
		Provider   string  `json:"provider"`
		Email      *string `json:"email"`
		LastUsedAt *string `json:"last_used_at"`
	} `json:"identities"`
}

func identitiesOf(t *testing.T, r response) identityList {
	t.Helper()
	var l identityList
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	return l
}

// TestLinkAndUnlinkIdentities: a signed-in user links an identity after
// their password, lists and unlinks it (with notices and events); an
// identity linked to another account stays there; admins list and unlink
// a lower-ranked user's; the account's deletion takes them along.
func TestLinkAndUnlinkIdentities(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("corp", ms[0], nil))
	}
	forEachAppWithMocks(t, 1, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		m := ms[0]
		sub := "alice-" + strings.ReplaceAll(t.Name(), "/", "-")
		alice := app.loggedIn(t, "alice", user.RoleUser)
		aliceID := app.userID(t, "alice")
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'alice@example.com', email_verified_at = created_at WHERE id = $1`, aliceID); err != nil {
			t.Fatal(err)
		}
		expect(t, "link, wrong password", alice.do(t, "POST", "/api/v1/auth/identities/corp", `{"current_password":"wrong one"}`), 403, "wrong_password")
		if e := last(t, app.eventsOf(t, aliceID), "reauthentication.failed"); e.Details["action"] != "link_identity" {
			t.Fatalf("recorded %+v", e)
		}
		expect(t, "link, unknown provider", alice.do(t, "POST", "/api/v1/auth/identities/other", `{"current_password":"`+seedPassword+`"}`), 404, "provider_not_found")
		expect(t, "link, open redirect", alice.do(t, "POST", "/api/v1/auth/identities/corp", `{"current_password":"`+seedPassword+`","return_to":"https://evil.example.com"}`), 422, "validation_failed")
		m.QueueUser(mockUser(sub, "alice.work@example.com", true, "alice"))
		if to := alice.linkWith(t, "corp", seedPassword); to != "/linked" {
			t.Fatalf("linked: %q", to)
		}
		if e := last(t, app.eventsOf(t, aliceID), "identity.linked"); e.Details["via"] != "signed_in" || e.Details["provider"] != "corp" {
			t.Fatalf("linked: %+v", e)
		}
		if n := app.mailCount(t, "identity_linked"); n != 1 {
			t.Fatalf("%d notices", n)
		}
		l := identitiesOf(t, alice.do(t, "GET", "/api/v1/auth/identities", ""))
		if len(l.Identities) != 1 || l.Identities[0].Provider != "corp" || l.Identities[0].Email == nil || *l.Identities[0].Email != "alice.work@example.com" {
			t.Fatalf("identities %s", alice.do(t, "GET", "/api/v1/auth/identities", "").body)
		}
		// The identity now signs alice in.
		b := app.client()
		m.QueueUser(mockUser(sub, "alice.work@example.com", true, "alice"))
		b.oauthSignIn(t, "corp", "")
		if u, _ := b.me(t); u["username"] != "alice" {
			t.Fatalf("signed in as %v", u)
		}

		// Bob cannot take it.
		bob := app.loggedIn(t, "bob.smith", user.RoleUser)
		m.QueueUser(mockUser(sub, "alice.work@example.com", true, "alice"))
		if to := bob.linkWith(t, "corp", seedPassword); to != "/linked#error=identity_in_use" {
			t.Fatalf("bob links alice's identity: %q", to)
		}
		if ev := last(t, app.eventsOf(t, app.userID(t, "bob.smith")), "login.failed"); ev.Details["reason"] != "identity_conflict" {
			t.Fatalf("recorded %+v", ev)
		}

		// Unlinking: another's id is 404 before the password; a wrong
		// password 403; then 204 with its event and notice.
		id := l.Identities[0].ID
		expect(t, "bob unlinks alice's", bob.do(t, "DELETE", "/api/v1/auth/identities/"+id, `{"current_password":"wrong"}`), 404, "identity_not_found")
		expect(t, "unlink, wrong password", alice.do(t, "DELETE", "/api/v1/auth/identities/"+id, `{"current_password":"wrong"}`), 403, "wrong_password")
		expect(t, "unlink", alice.do(t, "DELETE", "/api/v1/auth/identities/"+id, `{"current_password":"`+seedPassword+`"}`), 204, "")
		if e := last(t, app.eventsOf(t, aliceID), "identity.unlinked"); e.Details["identity"] != id {
			t.Fatalf("unlinked: %+v", e)
		}
		if n := app.mailCount(t, "identity_unlinked"); n != 1 {
			t.Fatalf("%d notices", n)
		}
		if l := identitiesOf(t, alice.do(t, "GET", "/api/v1/auth/identities", "")); len(l.Identities) != 0 {
			t.Fatalf("left %+v", l)
		}

		// Admins: list and unlink a lower-ranked user's identities.
		m.QueueUser(mockUser(sub, "alice.work@example.com", true, "alice"))
		alice.linkWith(t, "corp", seedPassword)
		admin := app.loggedIn(t, "ada.admin", user.RoleAdmin)
		expect(t, "a user lists another's", bob.do(t, "GET", "/api/v1/users/identities?username=alice", ""), 403, "forbidden")
		l = identitiesOf(t, admin.do(t, "GET", "/api/v1/users/identities?username=alice", ""))
		if len(l.Identities) != 1 {
			t.Fatalf("admin's list %+v", l)
		}
		expect(t, "an unknown id", admin.do(t, "DELETE", "/api/v1/users/identities", `{"username":"alice","id":"`+aliceID.String()+`"}`), 404, "identity_not_found")
		expect(t, "an admin unlinks", admin.do(t, "DELETE", "/api/v1/users/identities", `{"username":"alice","id":"`+l.Identities[0].ID+`"}`), 204, "")
		ev := last(t, app.eventsOf(t, aliceID), "identity.unlinked")
		if got := app.dumpColumn(t, `SELECT actor_id FROM audit_events WHERE type = 'identity.unlinked' ORDER BY occurred_at DESC, id DESC LIMIT 1`); got != app.userID(t, "ada.admin").String() || ev.Details["provider"] != "corp" {
			t.Fatalf("by %s: %+v", got, ev)
		}
		expect(t, "an admin unlinks an admin's", admin.do(t, "DELETE", "/api/v1/users/identities", `{"username":"ada.admin","id":"`+l.Identities[0].ID+`"}`), 403, "forbidden")

		// The account's deletion takes its identities along.
		m.QueueUser(mockUser(sub, "alice.work@example.com", true, "alice"))
		alice.linkWith(t, "corp", seedPassword)
		expect(t, "delete account", alice.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`), 204, "")
		if n := app.count(t, "identities"); n != 0 {
			t.Fatalf("%d identities outlive the account", n)
		}
	})
}

// TestPasswordlessAccountsIdentities: an account made through a provider
// has no password: it links and unlinks within 10 minutes of signing in
// (then 403 reauthentication_required), never its last way to sign in
// (409), of two unlinks at once one wins; recovery gives it a password.
func TestPasswordlessAccountsIdentities(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("one", ms[0], map[string]any{"trust_email": true}), providerOf("two", ms[1], nil))
	}
	forEachAppWithMocks(t, 2, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		one, two := ms[0], ms[1]
		sub := "pat-" + strings.ReplaceAll(t.Name(), "/", "-")
		one.QueueUser(mockUser(sub, "pat@example.com", true, "pat.person"))
		c := app.client()
		c.oauthSignIn(t, "one", "")
		l := identitiesOf(t, c.do(t, "GET", "/api/v1/auth/identities", ""))
		if len(l.Identities) != 1 {
			t.Fatalf("%+v", l)
		}
		expect(t, "unlink the only way in", c.do(t, "DELETE", "/api/v1/auth/identities/"+l.Identities[0].ID, ""), 409, "last_sign_in_method")
		// A password change cannot start: there is no current password.
		expect(t, "change password", c.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"!","new_password":"a new password"}`), 403, "wrong_password")

		two.QueueUser(mockUser(sub+"-2", "pat@other.example", true, "pat"))
		if to := c.linkWith(t, "two", ""); to != "/linked" {
			t.Fatalf("linked: %q", to)
		}
		l = identitiesOf(t, c.do(t, "GET", "/api/v1/auth/identities", ""))
		if len(l.Identities) != 2 {
			t.Fatalf("%+v", l)
		}
		// Two unlinks at once: the row lock lets one see the other.
		statuses := make(chan int, 2)
		for _, id := range l.Identities {
			go func() {
				statuses <- send(t, c.http, "DELETE", app.url+"/api/v1/auth/identities/"+id.ID, "").status
			}()
		}
		got := []int{<-statuses, <-statuses}
		slices.Sort(got)
		if !slices.Equal(got, []int{204, 409}) {
			t.Fatalf("two unlinks at once: %v", got)
		}
		// Ten minutes after signing in, the session no longer stands for
		// a password.
		app.clock.Advance(10*time.Minute + time.Second)
		expect(t, "link, signed in long ago", c.do(t, "POST", "/api/v1/auth/identities/two", `{}`), 403, "reauthentication_required")

		// Recovery sets a password: the account then logs in with it.
		expect(t, "recovery", app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"pat@example.com"}`), 202, "")
		token := app.recoveryToken(t, "pat@example.com", 1)
		expect(t, "confirm", app.client().do(t, "POST", "/api/v1/auth/recovery/confirm", `{"token":"`+token+`","new_password":"pats own password"}`), 204, "")
		name := app.dumpColumn(t, `SELECT username FROM users WHERE email = 'pat@example.com'`)
		expect(t, "login with it", app.client().login(t, name, "pats own password"), 200, "")
	})
}

// TestProviderAccountsFollowTheAccountRules: an account made through a
// provider counts in the client's signup window, and when its role must
// have a second factor (auth.require_second_factor_for) it is held to it
// and can enroll one without a password (a recent sign-in stands for
// it); its next sign-in then needs the factor.
func TestProviderAccountsFollowTheAccountRules(t *testing.T) {
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(map[string]string{"auth.require_second_factor_for": "user", "auth.max_signups_per_ip": "1"}, providerOf("corp", ms[0], nil))
	}
	forEachAppWithMocks(t, 1, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		m := ms[0]
		sub := "eve-" + strings.ReplaceAll(t.Name(), "/", "-")
		m.QueueUser(mockUser(sub, "eve@example.com", true, "eve.person"))
		c := app.client()
		c.oauthSignIn(t, "corp", "")
		expect(t, "me", c.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
		expect(t, "identities before enrolling", c.do(t, "GET", "/api/v1/auth/identities", ""), 403, "mfa_enrollment_required")
		r := c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{}`)
		expect(t, "set up an authenticator without a password", r, 200, "")
		var setup struct{ Secret string }
		json.Unmarshal(r.body, &setup)
		expect(t, "enable", c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", app.codeBody(t, setup.Secret)), 200, "")
		expect(t, "identities once enrolled", c.do(t, "GET", "/api/v1/auth/identities", ""), 200, "")
		app.clock.Advance(time.Minute) // the enabling code's step is used
		m.QueueUser(mockUser(sub, "eve@example.com", true, "eve.person"))
		if _, to := app.client().oauthSignIn(t, "corp", "/"); to != "/#mfa_required" {
			t.Fatalf("the next sign-in: %q", to)
		}
		// A second new account from this client: past the signup window.
		m.QueueUser(mockUser(sub+"-other", "other@example.com", true, "other"))
		if _, to := app.client().oauthSignIn(t, "corp", "/"); to != "/#error=too_many_attempts" {
			t.Fatalf("a second signup: %q", to)
		}
		if n := app.count(t, "users"); n != 1 {
			t.Fatalf("%d users", n)
		}
	})
}

// beginLink starts a link for the signed-in browser c and returns the
// provider's authorization URL.
func (c *client) beginLink(t *testing.T, provider, body string) string {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/auth/identities/"+provider, body)
	expect(t, "link "+provider, r, 200, "")
	var res struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	json.Unmarshal(r.body, &res)
	return res.AuthorizationURL
}

// TestLinkFlowEndsWithItsSession: an attacker who has the
// victim's password starts linking their own provider account; the victim
// notices and changes the password (every other session ends). SPEC 3:
// "credentials are current or worthless": nothing may be made on the
// strength of a password a change has replaced. The flow must die with the
// session/password that began it; today the attacker finishes it within
// 10 minutes and keeps a way into the account.
func TestLinkFlowEndsWithItsSession(t *testing.T) {
	forEachAppWithMocks(t, 1, func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(nil, providerOf("corp", ms[0], nil))
	}, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		linkFlowOutlivesPasswordChange(t, app, ms[0])
	})
}

func linkFlowOutlivesPasswordChange(t *testing.T, app *testApp, m *mockoidc.MockOIDC) {
	victim := app.loggedIn(t, "victim.user", user.RoleUser)
	attacker := app.client()
	expect(t, "attacker logs in with the stolen password", attacker.login(t, "victim.user", seedPassword), 200, "")
	authURL := attacker.beginLink(t, "corp", `{"current_password":"`+seedPassword+`"}`)

	expect(t, "the victim changes the password", victim.do(t, "PUT", "/api/v1/auth/password",
		`{"current_password":"`+seedPassword+`","new_password":"a brand new secret"}`), 204, "")
	expect(t, "the attacker's session ended", attacker.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")

	m.QueueUser(mockUser("attacker-sub", "attacker@evil.example", true, "attacker"))
	cb := attacker.get(t, attacker.atProvider(t, authURL))
	if n := app.count(t, "identities"); n != 0 {
		t.Errorf("a link flow begun before the password change finished after it (%q): %d identity linked", cb.header.Get("Location"), n)
	}
	m.QueueUser(mockUser("attacker-sub", "attacker@evil.example", true, "attacker"))
	later := app.client()
	later.oauthSignIn(t, "corp", "")
	if u, _ := later.me(t); u != nil && u["username"] == "victim.user" {
		t.Errorf("the attacker signs in to the victim's account with their provider after the password change")
	}
}

// TestLinkFlowEndsWithLogout: a link flow begun in a browser, then a
// logout there: a later callback in that browser (another person at a
// shared computer, using the provider page left open) links nothing.
func TestLinkFlowEndsWithLogout(t *testing.T) {
	m := startMockOIDC(t, nil)
	app := newTestApp(t, "sqlite", withProviders(nil, providerOf("corp", m, nil)))
	a := app.loggedIn(t, "alice.user", user.RoleUser)
	authURL := a.beginLink(t, "corp", `{"current_password":"`+seedPassword+`"}`)
	expect(t, "logout", a.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
	m.QueueUser(mockUser("someone-else", "bob@example.com", true, "bob"))
	cb := a.get(t, a.atProvider(t, authURL))
	if n := app.count(t, "identities"); n != 0 {
		t.Errorf("a link flow finished after its session logged out (%q): linked to alice", cb.header.Get("Location"))
	}
}

// crossSite is what a page elsewhere makes its visitor's browser send when
// it loads one of our URLs as an image: none of our SameSite=Lax cookies,
// Sec-Fetch-Site cross-site, Sec-Fetch-Mode no-cors.
var crossSite = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors"}

// TestCrossSiteLoadsLockNobodyOut: the callback and start are plain GETs
// any page can make a browser load. Callbacks without the binding cookie
// are refused before they count in the client's login window, and starts
// that are no navigation are refused before they count (and provider
// starts have a window of their own, not WebAuthn's): a page with many
// images of ours locks its visitors out of nothing.
func TestCrossSiteLoadsLockNobodyOut(t *testing.T) {
	m := startMockOIDC(t, nil)
	app := newTestApp(t, "sqlite", withProviders(nil, providerOf("corp", m, nil)))
	app.seed(t, "victim.user", user.RoleUser)
	page := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for k := range loginFailuresPerIP + 1 {
		send(t, page, "GET", fmt.Sprintf("%s/api/v1/auth/oauth/corp/callback?state=x%d&code=y", app.url, k), "", crossSite...)
	}
	expect(t, "the victim's right password after cross-site callbacks", app.client().login(t, "victim.user", seedPassword), 200, "")
	if n := app.count(t, "audit_events"); n != 1 {
		t.Fatalf("%d audit events: cross-site callbacks recorded something", n)
	}
	for range ceremoniesPerIP {
		r := send(t, page, "GET", app.url+"/api/v1/auth/oauth/corp/start", "", crossSite...)
		if r.status != 403 {
			t.Fatalf("a cross-site image load of start: %d, want 403", r.status)
		}
	}
	if n := app.count(t, "oauth_flows"); n != 0 {
		t.Fatalf("%d flows stored by image loads", n)
	}
	expect(t, "the victim's passkey sign-in after cross-site starts", app.client().do(t, "POST", "/api/v1/auth/passkey/begin", ""), 200, "")
}

// TestUnlinkCountsOnlyPasskeysThatSignIn: an account without a password
// whose only passkey is a security key without user verification (a
// second factor, which cannot sign in on its own) may not unlink its only
// identity: it would be left with no way in (409 last_sign_in_method).
func TestUnlinkCountsOnlyPasskeysThatSignIn(t *testing.T) {
	m := startMockOIDC(t, nil)
	app := newTestApp(t, "sqlite", withProviders(nil, providerOf("corp", m, nil)))
	m.QueueUser(mockUser("pat-sub", "pat@example.com", true, "pat.person"))
	c := app.client()
	c.oauthSignIn(t, "corp", "")
	key := passkeystest.New(testOrigin, testRPID)
	key.NoUV = true
	r := c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/begin", `{}`)
	expect(t, "register begin", r, 200, "")
	answer, err := key.Create(r.body)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "register finish", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", fmt.Sprintf(`{"name":"yubikey","credential":%s}`, answer)), 201, "")
	l := identitiesOf(t, c.do(t, "GET", "/api/v1/auth/identities", ""))
	expect(t, "unlink, leaving only a key that cannot sign in", c.do(t, "DELETE", "/api/v1/auth/identities/"+l.Identities[0].ID, ""), 409, "last_sign_in_method")
	if n := app.count(t, "identities"); n != 1 {
		t.Fatalf("%d identities", n)
	}
}
