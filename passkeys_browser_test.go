package main

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/cleanslice/cleanslice/shared/user"
)

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
  out.push((await api(base, "POST", "/api/v1/auth/login", {username: "alice", password: "password1"})).status);
  out.push(await register(base, "password1", "This browser"));
  out.push((await api(base, "DELETE", "/api/v1/auth/logout")).status);
  out.push(await assertion(base, "/api/v1/auth/passkey/begin", "/api/v1/auth/passkey/finish"));
  out.push((await api(base, "DELETE", "/api/v1/auth/logout")).status);
  const first = await api(base, "POST", "/api/v1/auth/login", {username: "alice", password: "password1"});
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
