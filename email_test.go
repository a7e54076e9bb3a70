package main

import (
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/mailtest"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// TestEmailAddresses: signup and admin creation take an optional address,
// checked strictly (422 naming email); an unverified one holds nothing
// (another account may claim it, in any case), a verified one is taken
// ignoring case (409 email_taken); every user object shows it and whether
// it is verified; auth.require_email makes it required.
func TestEmailAddresses(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		signup := func(name, email string) response {
			return c.do(t, "POST", "/api/v1/auth/signup", fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-1","email":%q}`, name, email))
		}
		r := signup("with.mail", "Alice.Smith@Example.com")
		expect(t, "signup with an address", r, 201, "")
		if u := r.json(t); u["email"] != "Alice.Smith@Example.com" || u["email_verified"] != false {
			t.Fatalf("signup body %s", r.body)
		}
		expect(t, "an unverified address claimed again, in another case", signup("other.user", "alice.smith@EXAMPLE.COM"), 201, "")
		expect(t, "verify it", c.do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "Alice.Smith@Example.com"))), 204, "")
		expect(t, "a verified address, in another case", signup("third.user", "ALICE.SMITH@example.com"), 409, "email_taken")
		r = signup("fourth.user", "Alice <alice@example.com>")
		expect(t, "an address with a display name", r, 422, "validation_failed")
		if p := r.json(t); fmt.Sprint(p["errors"]) != "[map[field:email message:"+user.ErrEmailSyntax.Error()+"]]" {
			t.Fatalf("errors %v", p["errors"])
		}
		expect(t, "no address", signup("no.mail", ""), 201, "")
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		r = admin.do(t, "POST", "/api/v1/users", `{"username":"made.user","password":"quiet-lamp-1","role":"user","email":"made@example.com"}`)
		expect(t, "admin creation with an address", r, 201, "")
		if u := r.json(t); u["email"] != "made@example.com" {
			t.Fatalf("creation body %s", r.body)
		}
		expect(t, "an unverified address at creation", admin.do(t, "POST", "/api/v1/users", `{"username":"made.two","password":"quiet-lamp-1","role":"user","email":"MADE@example.com"}`), 201, "")
		expect(t, "a verified address at creation", admin.do(t, "POST", "/api/v1/users", `{"username":"made.three","password":"quiet-lamp-1","role":"user","email":"alice.smith@example.com"}`), 409, "email_taken")
		list := admin.do(t, "GET", "/api/v1/users?sort=username&order=asc", "")
		expect(t, "the list", list, 200, "")
		if !strings.Contains(string(list.body), `"email":"made@example.com","email_verified":false`) || !strings.Contains(string(list.body), `"username":"no.mail","email":null`) {
			t.Fatalf("list %s", list.body)
		}
		login := app.client()
		expect(t, "login", login.login(t, "with.mail", "quiet-lamp-1"), 200, "")
		if u := login.do(t, "GET", "/api/v1/auth/me", "").json(t); u["email"] != "Alice.Smith@Example.com" {
			t.Fatalf("me %v", u)
		}
	})
	forEachApp(t, map[string]string{"auth.require_email": "true"}, func(t *testing.T, app *testApp) {
		r := app.client().signup(t, "no.mail", "quiet-lamp-1")
		expect(t, "signup without an address when one is required", r, 422, "validation_failed")
		if !strings.Contains(string(r.body), `"field":"email","message":"email is required"`) {
			t.Fatalf("body %s", r.body)
		}
	})
}

// TestEmailVerification: an address given at signup is verified by the
// token its message carries, once; the token is void when the address has
// changed, and every unusable token is the same 422; a new message can be
// asked for a minute after the last one, never for a verified address.
func TestEmailVerification(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		verify := func(token string) response {
			return c.do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, token))
		}
		expect(t, "signup", c.do(t, "POST", "/api/v1/auth/signup", `{"username":"with.mail","password":"quiet-lamp-1","email":"Alice@Example.com"}`), 201, "")
		// A signup that fails (a taken name) queues nothing.
		expect(t, "a taken name", c.do(t, "POST", "/api/v1/auth/signup", `{"username":"WITH.MAIL","password":"quiet-lamp-1","email":"other@example.com"}`), 409, "username_taken")
		if n := app.count(t, "mail_outbox"); n != 1 {
			t.Fatalf("%d messages queued, want the one signup's", n)
		}
		token := app.queuedToken(t, "Alice@Example.com")
		other := token[:42] + "A" // another token: the last character changed
		if token[42] == 'A' {
			other = token[:42] + "B"
		}
		for _, bad := range []string{"nonsense", strings.Repeat("A", 43), other} {
			expect(t, "a bad token", verify(bad), 422, "invalid_token")
		}
		expect(t, "an empty token", verify(""), 422, "validation_failed")
		expect(t, "verify", verify(token), 204, "")
		expect(t, "the same token again", verify(token), 422, "invalid_token")
		expect(t, "login", c.login(t, "with.mail", "quiet-lamp-1"), 200, "")
		if u := c.do(t, "GET", "/api/v1/auth/me", "").json(t); u["email_verified"] != true {
			t.Fatalf("me after verification: %v", u)
		}
		expect(t, "a new message for a verified address", c.do(t, "POST", "/api/v1/auth/email/verification", ""), 409, "email_already_verified")

		// Another account: resend, once a minute; an expired link; a link to
		// an address the account no longer has.
		b := app.client()
		expect(t, "signup b", b.do(t, "POST", "/api/v1/auth/signup", `{"username":"bob.mail","password":"quiet-lamp-1","email":"bob@example.com"}`), 201, "")
		first := app.queuedToken(t, "bob@example.com")
		expect(t, "login b", b.login(t, "bob.mail", "quiet-lamp-1"), 200, "")
		r := b.do(t, "POST", "/api/v1/auth/email/verification", "")
		expect(t, "resend at once after the signup's message", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After %q, want 60", r.header.Get("Retry-After"))
		}
		app.clock.Advance(time.Minute)
		expect(t, "resend", b.do(t, "POST", "/api/v1/auth/email/verification", ""), 202, "")
		r = b.do(t, "POST", "/api/v1/auth/email/verification", "")
		expect(t, "resend again at once", r, 429, "too_many_attempts")
		second := app.queuedToken(t, "bob@example.com")
		if second == first {
			t.Fatal("the resent message carries the first token")
		}
		app.clock.Advance(24 * time.Hour)
		expect(t, "an expired token", verify(first), 422, "invalid_token")
		b = app.client()
		expect(t, "login b again", b.login(t, "bob.mail", "quiet-lamp-1"), 200, "")
		expect(t, "resend after the minute", b.do(t, "POST", "/api/v1/auth/email/verification", ""), 202, "")
		third := app.queuedToken(t, "bob@example.com")
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'bob.new@example.com' WHERE username = 'bob.mail'`); err != nil {
			t.Fatal(err)
		}
		expect(t, "a token for the old address", verify(third), 422, "invalid_token")
		if u, _ := app.store.UserByUsername(context.Background(), "bob.mail"); u.EmailVerified() {
			t.Fatal("a void token verified the new address")
		}
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		page := auditPageOf(t, root.do(t, "GET", "/api/v1/audit?type=user.email_verified", ""))
		if len(page.Events) != 1 || page.Events[0].Target == nil || page.Events[0].Target.Username != "with.mail" || page.Events[0].Actor != nil {
			t.Fatalf("user.email_verified events %+v", page.Events)
		}
		if strings.Contains(app.logLines(`"msg":"audit"`), "@") {
			t.Fatal("an address reached the audit log lines")
		}
	})
}

// TestVerificationMailEndToEnd: the whole service with the SMTP transport:
// a signup's message reaches a real SMTP server through the outbox and
// the delivery loop (while the server is away, it waits, and arrives when
// it is back); its link verifies the address.
func TestVerificationMailEndToEnd(t *testing.T) {
	smtp := mailtest.Start(t)
	smtp.Stop()
	settings := map[string]string{"database.url": dbtest.URL(t, "postgres"), "mail.transport": "smtp", "mail.smtp_url": smtp.URL(), "mail.smtp_tls": "none"}
	for k, v := range cheapHashing {
		settings[k] = v
	}
	s := startService(t, settings)
	r := s.do(t, "POST", "/api/v1/auth/signup", `{"username":"mailed.user","password":"quiet-lamp-1","email":"mailed@example.com"}`)
	if r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.body)
	}
	s.waitForLog(t, "mail delivery failed; will retry")
	smtp.Restart()
	got := smtp.Wait(1, 30*time.Second)
	if got[0].To != "mailed@example.com" || !strings.Contains(got[0].Data, "Subject: Confirm your email address") {
		t.Fatalf("received %+v", got[0])
	}
	// The bodies are quoted-printable, as a mail client reads them.
	decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	m := tokenIn.FindStringSubmatch(string(decoded))
	if m == nil {
		t.Fatalf("no link in the message:\n%s", got[0].Data)
	}
	if r := s.do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, m[1])); r.status != 204 {
		t.Fatalf("verify with the mailed link: %d %s", r.status, r.body)
	}
	if strings.Contains(s.logs.String(), m[1]) || strings.Contains(s.logs.String(), "mailed@example.com") {
		t.Fatal("the token or the address reached the logs")
	}
}

// TestVerifyPageInBrowser: the link of a queued message, opened in headless
// Chromium, spends nothing on load (mail scanners open links) and takes the
// token out of the address bar; the button verifies the address, and the
// page says so.
func TestVerifyPageInBrowser(t *testing.T) {
	ctx := browser(t)
	app := newTestApp(t, "sqlite", nil)
	c := app.client()
	expect(t, "signup", c.do(t, "POST", "/api/v1/auth/signup", `{"username":"page.user","password":"quiet-lamp-1","email":"page@example.com"}`), 201, "")
	link := app.url + "/account/verify#token=" + app.queuedToken(t, "page@example.com")
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string { t.Helper(); return evaluate(t, ctx, js) }
	if href := eval("location.href"); strings.Contains(href, "token") {
		t.Errorf("the token stays in the address bar: %s", href)
	}
	var used int
	app.store.DB().QueryRow(`SELECT count(*) FROM one_time_tokens WHERE used_at IS NOT NULL`).Scan(&used)
	if u, _ := app.store.UserByUsername(context.Background(), "page.user"); used != 0 || u.EmailVerified() {
		t.Fatal("opening the link spent the token")
	}
	eval("document.getElementById('submit').click(), 'clicked'")
	status := pageStatus(t, ctx, "ok")
	if !strings.Contains(status, "confirmed") {
		t.Fatalf("the page says %q", status)
	}
	if u, _ := app.store.UserByUsername(context.Background(), "page.user"); !u.EmailVerified() {
		t.Fatal("the button did not verify the address")
	}
	// The same link again (a fresh load: from the same page a fragment
	// alone would not reload it): the page says it cannot be used.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	eval("document.getElementById('submit').click(), 'clicked'")
	status = pageStatus(t, ctx, "error")
	if !strings.Contains(status, "invalid, expired or already used") {
		t.Fatalf("a used link: the page says %q", status)
	}
}

// TestChangeEmail: with the current password a user sets, changes and
// removes their address: the new one starts unverified with a message of
// its own, a verified old one gets a notice, links to the old one stop
// working; a wrong password is recorded and counted like a login.
func TestChangeEmail(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_failed_logins": "3"}, func(t *testing.T, app *testApp) {
		c := app.client()
		expect(t, "signup", c.do(t, "POST", "/api/v1/auth/signup", `{"username":"changer","password":"quiet-lamp-1","email":"old@example.com"}`), 201, "")
		expect(t, "verify the first address", c.do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "old@example.com"))), 204, "")
		expect(t, "login", c.login(t, "changer", "quiet-lamp-1"), 200, "")
		change := func(body string) response { return c.do(t, "PUT", "/api/v1/auth/email", body) }

		expect(t, "no email member", change(`{"current_password":"quiet-lamp-1"}`), 422, "validation_failed")
		expect(t, "a bad address", change(`{"email":"not an address","current_password":"quiet-lamp-1"}`), 422, "validation_failed")
		expect(t, "a wrong password", change(`{"email":"new@example.com","current_password":"guess"}`), 403, "wrong_password")
		app.seed(t, "other.user", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'taken@example.com', email_verified_at = created_at WHERE username = 'other.user'`); err != nil {
			t.Fatal(err)
		}
		expect(t, "another account's verified address", change(`{"email":"TAKEN@example.com","current_password":"quiet-lamp-1"}`), 409, "email_taken")

		pending := app.queuedToken(t, "old@example.com") // verify_email to old, used already
		r := change(`{"email":"New@Example.com","current_password":"quiet-lamp-1"}`)
		expect(t, "change", r, 200, "")
		if u := r.json(t); u["email"] != "New@Example.com" || u["email_verified"] != false {
			t.Fatalf("after the change: %s", r.body)
		}
		var notice string
		app.store.DB().QueryRow(`SELECT template FROM mail_outbox WHERE recipient = 'old@example.com' ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&notice)
		if notice != "email_changed" {
			t.Fatalf("the old, verified address got %q, want the email_changed notice", notice)
		}
		expect(t, "an old link", c.do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, pending)), 422, "invalid_token")
		expect(t, "the new address's link", c.do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "New@Example.com"))), 204, "")

		r = change(`{"email":null,"current_password":"quiet-lamp-1"}`)
		expect(t, "remove", r, 200, "")
		if u := r.json(t); u["email"] != nil || u["email_verified"] != false {
			t.Fatalf("after removing: %s", r.body)
		}
		// Three wrong passwords since the last right one fill the window:
		// even the right one is 429 then.
		for range 3 {
			expect(t, "a wrong password", change(`{"email":"x@example.com","current_password":"guess"}`), 403, "wrong_password")
		}
		expect(t, "in a full window", change(`{"email":"x@example.com","current_password":"quiet-lamp-1"}`), 429, "too_many_attempts")
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		page := auditPageOf(t, root.do(t, "GET", "/api/v1/audit?type=reauthentication.failed,user.email_changed&target=changer", ""))
		counts := map[string]int{}
		for _, e := range page.Events {
			counts[fmt.Sprintf("%s/%v/%v", e.Type, e.Details["action"], e.Details["removed"])]++
		}
		if counts["reauthentication.failed/change_email/<nil>"] != 4 || counts["user.email_changed/<nil>/<nil>"] != 1 || counts["user.email_changed/<nil>/true"] != 1 {
			t.Fatalf("events %v", counts)
		}
	})
	forEachApp(t, map[string]string{"auth.require_email": "true"}, func(t *testing.T, app *testApp) {
		c := app.client()
		expect(t, "signup", c.do(t, "POST", "/api/v1/auth/signup", `{"username":"needs.mail","password":"quiet-lamp-1","email":"a@example.com"}`), 201, "")
		expect(t, "login", c.login(t, "needs.mail", "quiet-lamp-1"), 200, "")
		expect(t, "remove a required address", c.do(t, "PUT", "/api/v1/auth/email", `{"email":null,"current_password":"quiet-lamp-1"}`), 422, "validation_failed")
	})
}

// TestRecovery: every address gets the same answer, only a verified
// address of an active account a message (at most three an hour); its
// link sets a new password once, ends every session, clears the login
// throttle, never logs in; a later password change voids it.
func TestRecovery(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		signup := func(name, email string, verified, active bool) {
			t.Helper()
			expect(t, "signup "+name, app.client().do(t, "POST", "/api/v1/auth/signup", fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-1","email":%q}`, name, email)), 201, "")
			if verified {
				expect(t, "verify "+name, app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, email))), 204, "")
			}
			if !active {
				app.store.DB().Exec(`UPDATE users SET is_active = false WHERE username = $1`, name)
			}
		}
		signup("alice.r", "alice@example.com", true, true)
		signup("bob.r", "bob@example.com", false, true)
		signup("carol.r", "carol@example.com", true, false)
		owner := app.client()
		expect(t, "alice logs in", owner.login(t, "alice.r", "quiet-lamp-1"), 200, "")

		anon := app.client()
		var bodies []string
		for _, address := range []string{"nobody@example.com", "bob@example.com", "carol@example.com", "ALICE@example.com"} {
			r := anon.do(t, "POST", "/api/v1/auth/recovery", fmt.Sprintf(`{"email":%q}`, address))
			expect(t, "recovery for "+address, r, 202, "")
			bodies = append(bodies, strings.TrimSpace(string(r.body)))
		}
		if strings.Join(bodies, "|") != "{}|{}|{}|{}" {
			t.Fatalf("answers differ: %v", bodies)
		}
		expect(t, "a malformed address", anon.do(t, "POST", "/api/v1/auth/recovery", `{"email":"not an address"}`), 422, "validation_failed")
		token := app.recoveryToken(t, "alice@example.com", 1)
		recoveryWorkDone(t, app) // the worker has had the other three
		if n := app.mailCount(t, "recovery"); n != 1 {
			t.Fatalf("%d recovery messages, want alice's alone", n)
		}
		// Five wrong passwords lock alice's logins; the recovery clears that.
		for range 5 {
			anon.login(t, "alice.r", "guess")
		}
		expect(t, "alice's logins are locked", anon.login(t, "alice.r", "quiet-lamp-1"), 429, "too_many_attempts")

		confirm := func(token, pw string) response {
			return anon.do(t, "POST", "/api/v1/auth/recovery/confirm", fmt.Sprintf(`{"token":%q,"new_password":%q}`, token, pw))
		}
		expect(t, "a weak password", confirm(token, "short"), 422, "validation_failed")
		expectTooCommon(t, "a common password", confirm(token, "Princess"), "new_password") // the link still works: below
		expect(t, "a bad token", confirm("nonsense", "a new password"), 422, "invalid_token")
		r := confirm(token, "a new password")
		expect(t, "confirm", r, 204, "")
		if r.sessionCookie() != nil {
			t.Fatal("recovery logged in")
		}
		expect(t, "the same link again", confirm(token, "another password"), 422, "invalid_token")
		expect(t, "alice's old session", owner.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "the old password", app.client().login(t, "alice.r", "quiet-lamp-1"), 401, "invalid_credentials")
		expect(t, "the new password, the throttle cleared", app.client().login(t, "alice.r", "a new password"), 200, "")
		var notice int
		app.store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE template = 'password_changed' AND recipient = 'alice@example.com'`).Scan(&notice)
		if notice != 1 {
			t.Fatalf("%d password_changed notices", notice)
		}

		// The cap: three messages an hour per address, whatever is asked.
		for range 4 {
			expect(t, "another request", anon.do(t, "POST", "/api/v1/auth/recovery", `{"email":"alice@example.com"}`), 202, "")
		}
		stale := app.recoveryToken(t, "alice@example.com", 3)
		recoveryWorkDone(t, app)
		if n := app.mailCount(t, "recovery"); n != 3 {
			t.Fatalf("%d recovery messages in the hour, want 3", n)
		}
		// A password change voids the links sent before it.
		c := app.client()
		expect(t, "login", c.login(t, "alice.r", "a new password"), 200, "")
		expect(t, "change", c.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"a new password","new_password":"the newest one"}`), 204, "")
		expect(t, "a link from before the change", confirm(stale, "undo the change"), 422, "invalid_token")

		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		page := auditPageOf(t, root.do(t, "GET", "/api/v1/audit?target=alice.r&type=recovery.requested,user.password_recovered,session.ended", ""))
		counts := map[string]int{}
		for _, e := range page.Events {
			counts[fmt.Sprintf("%s/%v", e.Type, e.Details["reason"])]++
		}
		if counts["recovery.requested/<nil>"] != 3 || counts["user.password_recovered/<nil>"] != 1 || counts["session.ended/recovery"] != 1 {
			t.Fatalf("events %v", counts)
		}
		if u, _ := app.store.UserByUsername(ctx, "bob.r"); u.EmailVerified() {
			t.Fatal("bob's address was verified by nothing")
		}
	})
}

// TestRecoveryPageInBrowser: the recovery link opens the page; loading it
// spends nothing; the form sets the new password.
func TestRecoveryPageInBrowser(t *testing.T) {
	ctx := browser(t)
	app := newTestApp(t, "sqlite", nil)
	expect(t, "signup", app.client().do(t, "POST", "/api/v1/auth/signup", `{"username":"page.user","password":"quiet-lamp-1","email":"page@example.com"}`), 201, "")
	expect(t, "verify", app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "page@example.com"))), 204, "")
	expect(t, "ask", app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"page@example.com"}`), 202, "")
	link := app.url + "/account/recover#token=" + app.recoveryToken(t, "page@example.com", 1)
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string { t.Helper(); return evaluate(t, ctx, js) }
	expect(t, "the old password still works after loading the page", app.client().login(t, "page.user", "quiet-lamp-1"), 200, "")
	eval(`document.getElementById('password').value = 'set in the page'; document.getElementById('again').value = 'set in the page'; document.getElementById('submit').click(); 'ok'`)
	status := pageStatus(t, ctx, "ok")
	if !strings.Contains(status, "new password is set") {
		t.Fatalf("the page says %q", status)
	}
	expect(t, "the page's password", app.client().login(t, "page.user", "set in the page"), 200, "")
}

// evaluate runs js in the page and returns its string value.
func evaluate(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// pageStatus waits (5 s at most) for an account page's status line to be
// of kind ("ok" or "error") and returns it as "kind: text".
func pageStatus(t *testing.T, ctx context.Context, kind string) string {
	t.Helper()
	status := ""
	for range 100 {
		if status = evaluate(t, ctx, "document.getElementById('status').className + ': ' + document.getElementById('status').textContent"); strings.HasPrefix(status, kind) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return status
}

// TestRecoveryThrottle: per client, recovery requests count like logins:
// past 50 in the window the answer is 429 with Retry-After, whatever the
// address.
func TestRecoveryThrottle(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		for i := range loginFailuresPerIP {
			expect(t, "a request within the limit", c.do(t, "POST", "/api/v1/auth/recovery", fmt.Sprintf(`{"email":"someone%d@example.com"}`, i)), 202, "")
		}
		r := c.do(t, "POST", "/api/v1/auth/recovery", `{"email":"someone@example.com"}`)
		expect(t, "one request too many", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
}

// TestTakenAddressCostsNoTry: the right password with an address another
// account has verified is refused (409) as often as it is sent, and never
// counts as a failed login: five of them leave the account's window empty
// and its logins open.
func TestTakenAddressCostsNoTry(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.seed(t, "owner.user", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'taken@example.com', email_verified_at = created_at WHERE username = 'owner.user'`); err != nil {
			t.Fatal(err)
		}
		c := app.loggedIn(t, "changer", user.RoleUser)
		for n := range app.cfg.Auth.MaxFailedLogins {
			r := c.do(t, "PUT", "/api/v1/auth/email", fmt.Sprintf(`{"email":"Taken@Example.com","current_password":%q}`, seedPassword))
			expect(t, fmt.Sprintf("taken address, try %d", n+1), r, 409, "email_taken")
		}
		if n := windowCount(t, app.store, passwordGuard(app.cfg).UserKey("changer")); n > 0 {
			t.Fatalf("the right passwords left %d counted", n)
		}
		expect(t, "the right password once more", c.do(t, "PUT", "/api/v1/auth/email", fmt.Sprintf(`{"email":"Taken@Example.com","current_password":%q}`, seedPassword)), 409, "email_taken")
		expect(t, "login", app.client().login(t, "changer", seedPassword), 200, "")
	})
}

// TestVerificationMessageLimits: verification messages to one account
// (signup, every change, resend) share one window of five an hour: past
// it a change is 429 with Retry-After and the address stays; messages to
// one address, whoever asks, are capped at five an hour: past that a
// signup or change still succeeds, without a message, and a resend after
// the hour sends one.
func TestVerificationMessageLimits(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		expect(t, "signup", c.do(t, "POST", "/api/v1/auth/signup", `{"username":"many.changes","password":"quiet-lamp-1","email":"a0@example.com"}`), 201, "")
		expect(t, "login", c.login(t, "many.changes", "quiet-lamp-1"), 200, "")
		change := func(address string) response {
			return c.do(t, "PUT", "/api/v1/auth/email", fmt.Sprintf(`{"email":%q,"current_password":"quiet-lamp-1"}`, address))
		}
		for n := 1; n < onetime.VerificationsPerUser; n++ {
			expect(t, fmt.Sprintf("change %d", n), change(fmt.Sprintf("a%d@example.com", n)), 200, "")
		}
		sent := func(user string) int {
			t.Helper()
			var n int
			app.store.DB().QueryRow(`SELECT count(*) FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = $1 AND t.purpose = 'verify_email'`, user).Scan(&n)
			return n
		}
		if n := sent("many.changes"); n != onetime.VerificationsPerUser {
			t.Fatalf("%d verification messages, want %d", n, onetime.VerificationsPerUser)
		}
		r := change("one.more@example.com")
		expect(t, "a change past the account's limit", r, 429, "too_many_attempts")
		if ra := r.header.Get("Retry-After"); ra != "3600" {
			t.Fatalf("Retry-After %q, want 3600", ra)
		}
		if u := c.do(t, "GET", "/api/v1/auth/me", "").json(t); u["email"] != "a4@example.com" || sent("many.changes") != onetime.VerificationsPerUser {
			t.Fatalf("after the refused change: %v, %d messages", u["email"], sent("many.changes"))
		}
		app.clock.Advance(time.Minute)
		expect(t, "a resend past the account's limit", c.do(t, "POST", "/api/v1/auth/email/verification", ""), 429, "too_many_attempts")

		// One address, many accounts.
		signup := func(name string) {
			t.Helper()
			expect(t, "signup "+name, app.client().do(t, "POST", "/api/v1/auth/signup", fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-1","email":"Victim@Example.com"}`, name)), 201, "")
		}
		victim := func() int {
			t.Helper()
			var n int
			app.store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE lower(recipient) = 'victim@example.com'`).Scan(&n)
			return n
		}
		for n := range onetime.VerificationsPerAddress + 1 {
			signup(fmt.Sprintf("claimer.%d", n))
		}
		if n := victim(); n != onetime.VerificationsPerAddress {
			t.Fatalf("%d messages to one address, want %d", n, onetime.VerificationsPerAddress)
		}
		other := app.loggedIn(t, "other.user", user.RoleUser)
		expect(t, "a change to the address", other.do(t, "PUT", "/api/v1/auth/email", fmt.Sprintf(`{"email":"VICTIM@example.com","current_password":%q}`, seedPassword)), 200, "")
		if n := victim(); n != onetime.VerificationsPerAddress {
			t.Fatalf("%d messages to one address after a change, want %d", n, onetime.VerificationsPerAddress)
		}
		app.clock.Advance(time.Hour)
		last := app.client()
		expect(t, "login", last.login(t, fmt.Sprintf("claimer.%d", onetime.VerificationsPerAddress), "quiet-lamp-1"), 200, "")
		expect(t, "a resend an hour later", last.do(t, "POST", "/api/v1/auth/email/verification", ""), 202, "")
		if n := victim(); n != onetime.VerificationsPerAddress+1 {
			t.Fatalf("the resend sent nothing: %d messages", n)
		}
		expect(t, "login again", c.login(t, "many.changes", "quiet-lamp-1"), 200, "")
		expect(t, "a change an hour later", change("one.more@example.com"), 200, "")
	})
}

// TestUnverifiedAddressesHoldNothing: several accounts may claim one
// address until one verifies it (signup, creation, change); that ends
// every other claim (their links void, a user.email_changed each), and
// from then on the address is taken; recovery finds the verified account
// only.
func TestUnverifiedAddressesHoldNothing(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		first, second := app.client(), app.client()
		expect(t, "first claim", first.do(t, "POST", "/api/v1/auth/signup", `{"username":"first.claim","password":"quiet-lamp-1","email":"shared@example.com"}`), 201, "")
		firstToken := app.queuedToken(t, "shared@example.com")
		expect(t, "second claim", second.do(t, "POST", "/api/v1/auth/signup", `{"username":"second.claim","password":"quiet-lamp-1","email":"SHARED@example.com"}`), 201, "")
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		expect(t, "a created claim", admin.do(t, "POST", "/api/v1/users", `{"username":"third.claim","password":"quiet-lamp-1","role":"user","email":"Shared@example.com"}`), 201, "")
		fourth := app.loggedIn(t, "fourth.claim", user.RoleUser)
		expect(t, "a changed claim", fourth.do(t, "PUT", "/api/v1/auth/email", fmt.Sprintf(`{"email":"shared@EXAMPLE.com","current_password":%q}`, seedPassword)), 200, "")

		expect(t, "the second verifies", app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "SHARED@example.com"))), 204, "")
		expect(t, "the first's link", app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, firstToken)), 422, "invalid_token")
		for _, name := range []string{"first.claim", "third.claim", "fourth.claim"} {
			if u, _ := app.store.UserByUsername(context.Background(), name); u.Email != "" {
				t.Errorf("%s still claims %q", name, u.Email)
			}
		}
		if u := fourth.do(t, "GET", "/api/v1/auth/me", "").json(t); u["email"] != nil {
			t.Fatalf("the fourth's me: %v", u)
		}
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		page := auditPageOf(t, root.do(t, "GET", "/api/v1/audit?type=user.email_changed", ""))
		cleared := map[string]bool{}
		for _, e := range page.Events {
			if e.Details["reason"] == "verified_elsewhere" && e.Details["removed"] == true && e.Actor == nil && e.Target != nil {
				cleared[e.Target.Username] = true
			}
		}
		if len(cleared) != 3 || !cleared["first.claim"] || !cleared["third.claim"] || !cleared["fourth.claim"] {
			t.Fatalf("claims cleared in the trail: %v", cleared)
		}

		expect(t, "a signup with the verified address", app.client().do(t, "POST", "/api/v1/auth/signup", `{"username":"fifth.claim","password":"quiet-lamp-1","email":"Shared@Example.com"}`), 409, "email_taken")
		expect(t, "a creation with it", admin.do(t, "POST", "/api/v1/users", `{"username":"sixth.claim","password":"quiet-lamp-1","role":"user","email":"shared@example.com"}`), 409, "email_taken")
		expect(t, "a change to it", fourth.do(t, "PUT", "/api/v1/auth/email", fmt.Sprintf(`{"email":"shared@example.com","current_password":%q}`, seedPassword)), 409, "email_taken")

		expect(t, "recovery", app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"shared@example.com"}`), 202, "")
		app.recoveryToken(t, "SHARED@example.com", 1)
		time.Sleep(100 * time.Millisecond)
		if n := app.mailCount(t, "recovery"); n != 1 {
			t.Fatalf("%d recovery messages, want the verified account's", n)
		}
	})
}

// recoveryWorkDone waits until the worker has done every stored recovery
// request.
func recoveryWorkDone(t *testing.T, app *testApp) {
	t.Helper()
	for range 500 {
		if app.count(t, "recovery_requests") == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("recovery requests still waiting after 5 s")
}

// TestRecoveryRequestSurvivesKill: the program, in a process of its own,
// answers a recovery request 202 and is killed (SIGKILL) at once, before
// its worker has taken the request; a new process on the same database
// sends the message (the outbox holds it, the log transport logs it).
func TestRecoveryRequestSurvivesKill(t *testing.T) {
	runIfChild(t)
	forEachEngine(t, func(t *testing.T, engine, dbURL string) {
		settings := map[string]string{"database.url": dbURL, "log.format": "json"}
		for k, v := range cheapHashing {
			settings[k] = v
		}
		store := dbtest.OpenOn(t, engine, dbURL, nil)
		now := time.Now()
		// Each round its own account: a round in which the killed
		// process's worker took the request before the kill (its poll
		// fell between the answer and the kill) proves nothing, and
		// another round runs.
		address := ""
		for round := 1; address == ""; round++ {
			if round > 3 {
				t.Fatal("in 3 rounds the killed process's worker always took the request before the kill")
			}
			candidate := fmt.Sprintf("crash%d@example.com", round)
			u := user.New(fmt.Sprintf("crash.%d", round), "$argon2id$unused", user.RoleUser, now)
			u.Email, u.EmailVerifiedAt = candidate, now
			if err := store.InsertUser(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			logs := killAfterRecoveryRequest(t, settings, candidate)
			if strings.Contains(logs, candidate) {
				t.Fatalf("the address reached the logs:\n%s", logs)
			}
			var waiting, claims, sent int
			if err := store.DB().QueryRow(`SELECT count(*), coalesce(sum(attempts), 0) FROM recovery_requests`).Scan(&waiting, &claims); err != nil {
				t.Fatal(err)
			}
			store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE recipient = $1`, candidate).Scan(&sent)
			switch {
			case waiting == 1 && claims == 0 && sent == 0:
				address = candidate
			case waiting == 0 && sent == 1:
				t.Logf("round %d: the worker took the request before the kill", round)
			default:
				t.Fatalf("round %d, after the kill: %d requests waiting (%d claims), %d messages", round, waiting, claims, sent)
			}
		}

		s := startService(t, settings)
		var text string
		for range 500 {
			store.DB().QueryRow(`SELECT text_body FROM mail_outbox WHERE recipient = $1 AND template = 'recovery'`, address).Scan(&text)
			if text != "" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(text, "/account/recover#token=") {
			t.Fatalf("no recovery message queued by the new process: %q", text)
		}
		s.waitForLog(t, "mail (log transport: not sent)")
		if !strings.Contains(s.logs.String(), address) || !strings.Contains(s.logs.String(), "/account/recover#token=") {
			t.Fatalf("the log transport did not send the message:\n%s", s.logs)
		}
		var waiting int
		store.DB().QueryRow(`SELECT count(*) FROM recovery_requests`).Scan(&waiting)
		if waiting != 0 {
			t.Fatalf("%d requests still waiting once the message is queued", waiting)
		}
	})
}

// killAfterRecoveryRequest runs the program in a process of its own (this
// test binary in childConfig's mode) with settings, asks it for a recovery
// link to address, kills it with SIGKILL as soon as the 202 arrives, and
// returns what it logged.
func killAfterRecoveryRequest(t *testing.T, settings map[string]string, address string) string {
	t.Helper()
	c := startChild(t, "TestRecoveryRequestSurvivesKill", settings)
	r := send(t, &http.Client{Timeout: 10 * time.Second}, "POST", c.base+"/api/v1/auth/recovery", fmt.Sprintf(`{"email":%q}`, address))
	c.kill(t)
	if r.status != 202 {
		t.Fatalf("recovery request: %d %s\n%s", r.status, r.body, c.logs)
	}
	return c.logs.String()
}

// TestRecoveryConfirmThrottle: unusable recovery tokens count per client
// in the login window (50 per auth.failure_window): then every
// confirmation and login from the client is 429, a good link too; after
// the window the link works.
func TestRecoveryConfirmThrottle(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		expect(t, "signup", app.client().do(t, "POST", "/api/v1/auth/signup", `{"username":"recovering","password":"quiet-lamp-1","email":"rec@example.com"}`), 201, "")
		expect(t, "verify", app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "rec@example.com"))), 204, "")
		expect(t, "ask", app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"rec@example.com"}`), 202, "")
		good := app.recoveryToken(t, "rec@example.com", 1)
		c := app.client()
		confirm := func(token string) response {
			return c.do(t, "POST", "/api/v1/auth/recovery/confirm", fmt.Sprintf(`{"token":%q,"new_password":"a new password"}`, token))
		}
		for n := range loginFailuresPerIP {
			unknown, _ := onetime.New(user.NewID(), onetime.Recovery, "x@example.com", app.clock.Now(), time.Hour)
			expect(t, fmt.Sprintf("unusable token %d", n+1), confirm(unknown), 422, "invalid_token")
		}
		r := confirm(good)
		expect(t, "a good link from the client past the limit", r, 429, "too_many_attempts")
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		expect(t, "a login from the client", c.login(t, "recovering", "quiet-lamp-1"), 429, "too_many_attempts")
		app.clock.Advance(app.cfg.Auth.FailureWindow)
		expect(t, "the good link after the window", confirm(good), 204, "")
	})
}

// TestPurgeKeepsTheRecoveryCap: with every configured window under an hour
// (here a minute), the purge that runs between recovery requests keeps
// the hourly per-address cap: six requests in three minutes send three
// messages.
func TestPurgeKeepsTheRecoveryCap(t *testing.T) {
	forEachApp(t, map[string]string{"auth.failure_window": "1m", "auth.signup_window": "1m", "mail.max_recovery_per_hour": "3"}, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		expect(t, "signup", app.client().do(t, "POST", "/api/v1/auth/signup", `{"username":"capped","password":"quiet-lamp-1","email":"capped@example.com"}`), 201, "")
		expect(t, "verify", app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, app.queuedToken(t, "capped@example.com"))), 204, "")
		for n := range 6 {
			expect(t, fmt.Sprintf("request %d", n+1), app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"capped@example.com"}`), 202, "")
			if n < 3 {
				app.recoveryToken(t, "capped@example.com", n+1)
			} else {
				time.Sleep(100 * time.Millisecond) // the worker has had it
			}
			app.clock.Advance(36 * time.Second)
			if _, err := app.store.Purge(ctx, app.clock.Now(), purgeRetention(app.cfg)); err != nil {
				t.Fatal(err)
			}
		}
		if n := app.mailCount(t, "recovery"); n != 3 {
			t.Fatalf("%d recovery messages in three minutes, want 3", n)
		}
	})
}
