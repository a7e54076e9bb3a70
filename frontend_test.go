package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cleanslice/cleanslice/shared/user"
)

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	forEachApp(t, map[string]string{"http.trusted_origins": "https://app.example.com"}, func(t *testing.T, app *testApp) {
		c := app.client()
		r := c.do(t, "POST", "/api/v1/auth/signup", credentials("alice", "quiet-lamp-1"), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		expect(t, "cross-site signup", r, 403, "forbidden")
		if n := app.count(t, "users"); n != 0 {
			t.Fatal("a cross-site request created a user")
		}
		r = c.do(t, "POST", "/api/v1/auth/signup", credentials("alice", "quiet-lamp-1"), "Origin", "https://app.example.com", "Sec-Fetch-Site", "cross-site")
		expect(t, "signup from a trusted origin", r, 201, "")
		r = c.do(t, "GET", "/api/v1/", "", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		expect(t, "cross-site GET", r, 200, "")
	})
}

// frontEnd is a single-page app's script: it calls the API with the
// browser's fetch, cookies included, and reports each status (or the
// TypeError a CORS failure gives).
const frontEnd = `<!doctype html><meta charset="utf-8"><title>app</title><script>
async function call(api, method, path, body) {
  try {
    const init = {method, credentials: "include", headers: {}};
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const r = await fetch(api + path, init);
    return r.status + (r.headers.get("X-Request-ID") ? "" : " (no readable X-Request-ID)");
  } catch (e) { return "error: " + e.message; }
}
async function flow(api, name) {
  const out = [];
  out.push(await call(api, "POST", "/api/v1/auth/signup", {username: name, password: "first password"}));
  out.push(await call(api, "POST", "/api/v1/auth/login", {username: name, password: "first password"}));
  out.push(await call(api, "GET", "/api/v1/auth/me"));
  out.push(await call(api, "PUT", "/api/v1/auth/password", {current_password: "first password", new_password: "second password"}));
  out.push(await call(api, "DELETE", "/api/v1/auth/logout"));
  out.push(await call(api, "GET", "/api/v1/auth/me"));
  return out;
}
</script>`

// TestBrowserFrontEnds drives headless Chromium: a page on a trusted origin
// (another port of localhost: same site, so SameSite=Lax cookies go along)
// runs the whole account flow with credentials; the same page on an
// untrusted origin gets nothing done and changes nothing; Swagger UI logs
// in through "Try it out" and then reads /auth/me.
func TestBrowserFrontEnds(t *testing.T) {
	ctx := browser(t)
	trusted := servePage(t, "localhost", frontEnd)
	untrusted := servePage(t, "127.0.0.1", frontEnd)
	app := newTestApp(t, "sqlite", map[string]string{"http.trusted_origins": trusted})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(app.url, "http://"))
	api := "http://localhost:" + port

	run := func(origin, name string) []string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatalf("open the page on %s: %v", origin, err)
		}
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf("flow(%q, %q)", api, name), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("page on %s: %v", origin, err)
		}
		return out
	}

	got := strings.Join(run(trusted, "browser.user"), ", ")
	if want := "201, 200, 200, 204, 204, 401"; got != want {
		t.Errorf("trusted origin %s: statuses %s, want %s", trusted, got, want)
	}

	before := app.snapshot(t)
	for i, s := range run(untrusted, "evil.user") {
		if !strings.HasPrefix(s, "error:") {
			t.Errorf("untrusted origin %s: call %d answered %s, want a failed fetch", untrusted, i, s)
		}
	}
	if after := app.snapshot(t); after != before {
		t.Errorf("the untrusted page changed the database:\n%s\nthen\n%s", before, after)
	}

	// Swagger UI, same origin as the API: log in with the example body
	// (an account made for it) and call /auth/me from the UI.
	hash, err := newHasher(app.cfg.Password, nil, nil, nil).Hash(context.Background(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.store.InsertUser(context.Background(), user.New("alice.smith", hash, user.RoleUser, app.clock.Now())); err != nil {
		t.Fatal(err)
	}
	status := func(op string) string {
		sel := "#operations-auth-" + op
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(sel+" .opblock-summary")),
			chromedp.Click(chromedp.CSS(sel+" .try-out__btn")),
			chromedp.Click(chromedp.CSS(sel+" .execute")),
		)
		if err != nil {
			t.Fatalf("Swagger UI %s: %v", op, err)
		}
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel+" .live-responses-table .response .response-col_status")))
		if err != nil {
			t.Fatalf("Swagger UI %s: %v", op, err)
		}
		return strings.TrimSpace(s)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(api+"/docs"), chromedp.WaitVisible(chromedp.CSS("#operations-auth-login"))); err != nil {
		t.Fatalf("open /docs: %v", err)
	}
	if s := status("login"); s != "200" {
		t.Errorf("Swagger UI login: %s, want 200", s)
	}
	if s := status("me"); s != "200" {
		t.Errorf("Swagger UI me after login: %s, want 200", s)
	}
}
