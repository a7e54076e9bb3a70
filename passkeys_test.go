package main

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/passkeys/passkeystest"
	"github.com/cleanslice/cleanslice/shared/user"
)

// The relying party of these tests is the default one: rp_id localhost,
// pages at http://localhost:8000 (the software authenticator says so; the
// browser test serves a real page there).
const (
	testRPID   = "localhost"
	testOrigin = "http://localhost:8000"
)

// registerPasskey registers a software authenticator's credential for the
// logged-in client c (password seedPassword) and returns the answer body.
func registerPasskey(t *testing.T, c *client, a *passkeystest.Authenticator, name string) response {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/begin", `{"current_password":"`+seedPassword+`"}`)
	expect(t, "register begin", r, 200, "")
	answer, err := a.Create(r.body)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", fmt.Sprintf(`{"name":%q,"credential":%s}`, name, answer))
}

// assert answers the options of a begin call with a's credential and
// posts the answer to finish.
func assert(t *testing.T, c *client, a *passkeystest.Authenticator, begin, finish string) response {
	t.Helper()
	r := c.do(t, "POST", begin, "")
	expect(t, begin, r, 200, "")
	answer, err := a.Get(r.body)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(t, "POST", finish, `{"credential":`+string(answer)+`}`)
}

func TestPasskeys(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		u := app.seed(t, "alice", user.RoleUser)
		c := app.client()
		expect(t, "login", c.login(t, "alice", seedPassword), 200, "")
		expect(t, "begin, wrong password", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/begin", `{"current_password":"nope-nope"}`), 403, "wrong_password")
		key := passkeystest.New(testOrigin, testRPID)
		r := registerPasskey(t, c, key, "Work laptop")
		expect(t, "register", r, 201, "")
		var reg struct {
			ID            string   `json:"id"`
			Name          string   `json:"name"`
			RecoveryCodes []string `json:"recovery_codes"`
		}
		json.Unmarshal(r.body, &reg)
		if reg.Name != "Work laptop" || len(reg.RecoveryCodes) != 10 {
			t.Fatalf("registered %s", r.body)
		}
		// The user handle is random: neither the username nor the id.
		if h := string(key.UserHandle); len(key.UserHandle) != 32 || strings.Contains(h, "alice") || strings.Contains(h, string(u.ID.Bytes())) {
			t.Fatalf("user handle %x", key.UserHandle)
		}
		second := passkeystest.New(testOrigin, testRPID)
		r = registerPasskey(t, c, second, "Security key")
		expect(t, "a second passkey", r, 201, "")
		if strings.Contains(string(r.body), "recovery_codes") {
			t.Fatalf("a second factor returned recovery codes: %s", r.body)
		}
		r = c.do(t, "GET", "/api/v1/auth/mfa", "")
		if !strings.Contains(string(r.body), `"name":"Work laptop"`) || !strings.Contains(string(r.body), `"last_used_at":null`) {
			t.Fatalf("factors %s", r.body)
		}

		// The second step of a password login.
		p := app.client()
		r = p.login(t, "alice", seedPassword)
		expect(t, "first step", r, 202, "")
		if !strings.Contains(string(r.body), `"methods":["webauthn","recovery_code"]`) {
			t.Fatalf("202 %s", r.body)
		}
		r = assert(t, p, key, "/api/v1/auth/login/webauthn/begin", "/api/v1/auth/login/webauthn/finish")
		expect(t, "passkey step", r, 200, "")
		events := app.eventsOf(t, u.ID)
		if ok := last(t, events, "login.succeeded"); fmt.Sprint(ok.Details["methods"]) != "[password webauthn]" || ok.Details["passkey"] != reg.ID {
			t.Fatalf("login.succeeded %v", ok.Details)
		}

		// Passwordless: neither username nor password.
		anon := app.client()
		r = assert(t, anon, second, "/api/v1/auth/passkey/begin", "/api/v1/auth/passkey/finish")
		expect(t, "passwordless", r, 200, "")
		if !strings.Contains(string(r.body), `"username":"alice"`) {
			t.Fatalf("signed in as %s", r.body)
		}
		sessions := sessionsOf(t, anon.do(t, "GET", "/api/v1/auth/sessions", ""))
		for _, s := range sessions.Sessions {
			if *s.Current && (s.AAL != 2 || !slices.Equal(s.Methods, []string{"webauthn"})) {
				t.Fatalf("passwordless session %+v", s)
			}
		}
		expect(t, "passwordless while logged in", anon.do(t, "POST", "/api/v1/auth/passkey/begin", ""), 403, "already_authenticated")

		// Removal: the last factor takes the codes with it.
		expect(t, "remove, unknown", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/remove", `{"id":"019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b","current_password":"quiet-lamp-1"}`), 404, "passkey_not_found")
		for _, id := range strings.Fields(app.dumpColumn(t, "SELECT public_id FROM webauthn_credentials")) {
			expect(t, "remove", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/remove", `{"id":"`+id+`","current_password":"quiet-lamp-1"}`), 204, "")
		}
		if n := app.count(t, "mfa_recovery_codes"); n != 0 {
			t.Fatalf("%d recovery codes outlived the last passkey", n)
		}
		expect(t, "password alone again", app.client().login(t, "alice", seedPassword), 200, "")
		if got := last(t, app.eventsOf(t, u.ID), "mfa.webauthn_removed"); got.Details["passkey"] == nil {
			t.Fatalf("mfa.webauthn_removed %v", got.Details)
		}
		last(t, app.eventsOf(t, u.ID), "mfa.webauthn_added")
	})
}

// TestPasskeyRefusals: every refusal is a clear problem, changes nothing,
// and the refused second steps count like wrong codes.
func TestPasskeyRefusals(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_failed_logins": "20"}, func(t *testing.T, app *testApp) {
		app.seed(t, "alice", user.RoleUser)
		c := app.client()
		expect(t, "login", c.login(t, "alice", seedPassword), 200, "")
		key := passkeystest.New(testOrigin, testRPID)
		expect(t, "register", registerPasskey(t, c, key, "Laptop"), 201, "")
		app.seed(t, "bobby", user.RoleUser)
		cb := app.client()
		expect(t, "login bobby", cb.login(t, "bobby", seedPassword), 200, "")
		bobKey := passkeystest.New(testOrigin, testRPID)
		expect(t, "register bobby's", registerPasskey(t, cb, bobKey, "Phone"), 201, "")

		step := func(what string, a *passkeystest.Authenticator, code string, prepare func(answer []byte) []byte) {
			t.Helper()
			p := app.client()
			expect(t, what+": first step", p.login(t, "alice", seedPassword), 202, "")
			r := p.do(t, "POST", "/api/v1/auth/login/webauthn/begin", "")
			expect(t, what+": begin", r, 200, "")
			answer, err := a.Get(r.body)
			if err != nil {
				t.Fatal(err)
			}
			if prepare != nil {
				answer = prepare(answer)
			}
			expect(t, what, p.do(t, "POST", "/api/v1/auth/login/webauthn/finish", `{"credential":`+string(answer)+`}`), 401, code)
		}
		liar := func(change func(a *passkeystest.Authenticator)) *passkeystest.Authenticator {
			l := *key
			change(&l)
			return &l
		}
		sessions := app.count(t, "sessions")
		step("another origin", liar(func(a *passkeystest.Authenticator) { a.Origin = "http://evil.localhost:8000" }), "invalid_credential", nil)
		step("another RP id", liar(func(a *passkeystest.Authenticator) { a.RPID = "example.com" }), "invalid_credential", nil)
		step("a credential of another user", bobKey, "invalid_credential", nil)
		key.Counter += 10 // a genuine use moves the stored counter on
		genuine := app.client()
		expect(t, "genuine: first step", genuine.login(t, "alice", seedPassword), 202, "")
		expect(t, "genuine", assert(t, genuine, key, "/api/v1/auth/login/webauthn/begin", "/api/v1/auth/login/webauthn/finish"), 200, "")
		sessions++
		step("the counter gone back", liar(func(a *passkeystest.Authenticator) { a.Counter = 1 }), "invalid_credential", nil)
		if got := app.eventsOf(t, app.userID(t, "alice")); !slices.ContainsFunc(got, func(e event) bool { return e.Details["reason"] == "cloned_credential" }) {
			t.Fatalf("a cloned credential was not recorded: %v", got)
		}
		// A replayed answer: its challenge was used.
		var used []byte
		step("a wrong origin, kept", liar(func(a *passkeystest.Authenticator) { a.Origin = "http://evil.localhost:8000" }), "invalid_credential", func(b []byte) []byte { used = b; return b })
		p := app.client()
		expect(t, "first step", p.login(t, "alice", seedPassword), 202, "")
		expect(t, "a replayed answer", p.do(t, "POST", "/api/v1/auth/login/webauthn/finish", `{"credential":`+string(used)+`}`), 401, "challenge_expired")
		// An expired challenge.
		r := p.do(t, "POST", "/api/v1/auth/login/webauthn/begin", "")
		answer, _ := key.Get(r.body)
		app.clock.Advance(5*time.Minute + time.Second)
		expect(t, "an expired challenge", p.do(t, "POST", "/api/v1/auth/login/webauthn/finish", `{"credential":`+string(answer)+`}`), 401, "not_authenticated") // the pending login is over too
		if n := app.count(t, "sessions"); n != sessions {
			t.Fatalf("refused steps made %d sessions", n-sessions)
		}
		// Passwordless refusals: each answer to a ceremony of ours is
		// recorded as login.failed (invalid_credential), against alice only
		// when it is her credential's; an answer to none is not recorded.
		alice := app.userID(t, "alice")
		refusals := func() (nobody, alices int) {
			for _, e := range app.eventsOf(t, alice) {
				if e.Type == "login.failed" && e.Details["reason"] == "invalid_credential" {
					alices++
				}
			}
			app.store.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE type = 'login.failed' AND target_id IS NULL`).Scan(&nobody)
			return nobody, alices
		}
		nobody, alices := refusals()
		anon := app.client()
		passwordless := func(what string, a *passkeystest.Authenticator) {
			t.Helper()
			expect(t, what, assert(t, anon, a, "/api/v1/auth/passkey/begin", "/api/v1/auth/passkey/finish"), 401, "invalid_credential")
		}
		passwordless("an unknown user handle", liar(func(a *passkeystest.Authenticator) { a.UserHandle = make([]byte, 32) }))
		bobForAlice := *bobKey
		bobForAlice.UserHandle = key.UserHandle
		passwordless("bobby's credential, naming alice", &bobForAlice)
		passwordless("alice's credential, from another origin", liar(func(a *passkeystest.Authenticator) { a.Origin = "http://evil.localhost:8000" }))
		r = anon.do(t, "POST", "/api/v1/auth/passkey/begin", "")
		answer, _ = key.Get(r.body)
		app.clock.Advance(6 * time.Minute)
		expect(t, "passwordless, expired", anon.do(t, "POST", "/api/v1/auth/passkey/finish", `{"credential":`+string(answer)+`}`), 401, "challenge_expired")
		expect(t, "garbage", anon.do(t, "POST", "/api/v1/auth/passkey/finish", `{"credential":{"id":"x"}}`), 401, "invalid_credential")
		if n, a := refusals(); n != nobody+2 || a != alices+1 {
			t.Fatalf("passwordless refusals recorded: %d against nobody, %d against alice; want %d and %d", n-nobody, a-alices, 2, 1)
		}
		// Registration refusals: 422, the session is fine.
		r = c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/begin", `{"current_password":"quiet-lamp-1"}`)
		wrongOrigin := passkeystest.New("http://evil.localhost:8000", testRPID)
		answer, _ = wrongOrigin.Create(r.body)
		expect(t, "register from another origin", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", `{"name":"x","credential":`+string(answer)+`}`), 422, "invalid_credential")
		expect(t, "register twice with one answer", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", `{"name":"x","credential":`+string(answer)+`}`), 422, "challenge_expired")
		expect(t, "register without a name", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", `{"name":" ","credential":`+string(answer)+`}`), 422, "validation_failed")
		r = cb.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/begin", `{"current_password":"quiet-lamp-1"}`)
		answer, _ = passkeystest.New(testOrigin, testRPID).Create(r.body)
		expect(t, "finish another user's registration", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", `{"name":"x","credential":`+string(answer)+`}`), 422, "invalid_credential")
		if n := strings.Count(app.dumpColumn(t, "SELECT name FROM webauthn_credentials"), " ") + 1; n != 2 {
			t.Fatalf("%d passkeys stored, want alice's and bobby's", n)
		}
	})
}

// TestPasskeyCeremonyAcrossReplicas: a ceremony begun on one replica is
// finished on another (PostgreSQL: two services on one database).
func TestPasskeyCeremonyAcrossReplicas(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.URL(t, "postgres")
	one, two := newTestAppOn(t, dbURL, nil), newTestAppOn(t, dbURL, nil)
	one.seed(t, "alice", user.RoleUser)
	c := one.client()
	expect(t, "login", c.login(t, "alice", seedPassword), 200, "")
	key := passkeystest.New(testOrigin, testRPID)
	r := c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/begin", `{"current_password":"quiet-lamp-1"}`)
	answer, _ := key.Create(r.body)
	c.app = two // the same browser, the other replica
	expect(t, "register, finished on the other replica", c.do(t, "POST", "/api/v1/auth/mfa/webauthn/register/finish", `{"name":"x","credential":`+string(answer)+`}`), 201, "")
	anon := one.client()
	r = anon.do(t, "POST", "/api/v1/auth/passkey/begin", "")
	answer, _ = key.Get(r.body)
	anon.app = two
	expect(t, "sign in, finished on the other replica", anon.do(t, "POST", "/api/v1/auth/passkey/finish", `{"credential":`+string(answer)+`}`), 200, "")
}

// passkeyPage is a front-end's passkey code, as README shows it: the API's
// options through PublicKeyCredential.parse*OptionsFromJSON, the
// credential back as credential.toJSON().
const passkeyPage = `<!doctype html><meta charset="utf-8"><title>passkeys</title><script>
async function api(base, method, path, body) {
  const init = {method, credentials: "include", headers: {}};
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(base + path, init);
  let json = null;
  try { json = await r.json(); } catch (e) {}
  return {status: r.status, body: json};
}
async function register(base, password, name) {
  const begin = await api(base, "POST", "/api/v1/auth/mfa/webauthn/register/begin", {current_password: password});
  if (begin.status !== 200) return "begin " + begin.status;
  const credential = await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begin.body.publicKey)});
  const finish = await api(base, "POST", "/api/v1/auth/mfa/webauthn/register/finish", {name, credential: credential.toJSON()});
  return finish.status + " " + (finish.body.recovery_codes || []).length;
}
async function assertion(base, begin, finish) {
  const b = await api(base, "POST", begin);
  if (b.status !== 200) return "begin " + b.status;
  const credential = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(b.body.publicKey)});
  const f = await api(base, "POST", finish, {credential: credential.toJSON()});
  return f.status + " " + (f.body.username || f.body.code);
}
async function flow(base) {
  const out = [];
  out.push((await api(base, "POST", "/api/v1/auth/login", {username: "alice", password: "quiet-lamp-1"})).status);
  out.push(await register(base, "quiet-lamp-1", "This browser"));
  out.push((await api(base, "DELETE", "/api/v1/auth/logout")).status);
  out.push(await assertion(base, "/api/v1/auth/passkey/begin", "/api/v1/auth/passkey/finish"));
  out.push((await api(base, "DELETE", "/api/v1/auth/logout")).status);
  const first = await api(base, "POST", "/api/v1/auth/login", {username: "alice", password: "quiet-lamp-1"});
  out.push(first.status + " " + first.body.methods.join(","));
  out.push(await assertion(base, "/api/v1/auth/login/webauthn/begin", "/api/v1/auth/login/webauthn/finish"));
  const sessions = await api(base, "GET", "/api/v1/auth/sessions");
  out.push(sessions.body.sessions.filter(s => s.current).map(s => s.aal + " " + s.methods.join(","))[0]);
  return out;
}
</script>`

// TestPasskeysInABrowser: headless Chromium with a CDP virtual
// authenticator (CTAP2, internal, resident keys, user verification), a
// front-end page on its own origin: register a passkey, sign in with it
// passwordless, and use it as the second step of a password login.
func TestPasskeysInABrowser(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := browser(t)
			page := servePage(t, "localhost", passkeyPage)
			app := newTestApp(t, engine, map[string]string{
				"http.trusted_origins": page, "webauthn.rp_id": "localhost", "webauthn.rp_origins": page,
			})
			app.seed(t, "alice", user.RoleUser)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(app.url, "http://"))
			api := "http://localhost:" + port
			if err := chromedp.Do(ctx, chromedp.Navigate(page+"/")); err != nil {
				t.Fatalf("open the page: %v", err)
			}
			if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
				t.Fatalf("WebAuthn.enable: %v", err)
			}
			if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			}}); err != nil {
				t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
			}
			out, err := chromedp.Run(ctx, chromedp.Evaluate[[]any](fmt.Sprintf("flow(%q)", api), chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("the page's flow: %v", err)
			}
			got := fmt.Sprint(out)
			want := "[200 201 10 204 200 alice 204 202 webauthn,recovery_code 200 alice 2 password,webauthn]"
			if got != want {
				t.Fatalf("flow answered\n%s\nwant\n%s", got, want)
			}
			if n := app.count(t, "webauthn_credentials"); n != 1 {
				t.Fatalf("%d credentials stored", n)
			}
		})
	}
}
