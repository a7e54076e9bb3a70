package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/openapi"
	"github.com/cleanslice/cleanslice/platform/token"
	"github.com/cleanslice/cleanslice/platform/totp"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

func TestTOTPEnrollmentAndTwoStepLogin(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		u := app.seed(t, "alice", user.RoleUser)
		c := app.client()
		expect(t, "login", c.login(t, "alice", seedPassword), 200, "")
		r := c.do(t, "GET", "/api/v1/auth/mfa", "")
		expect(t, "factors", r, 200, "")
		if got := strings.TrimSpace(string(r.body)); got != `{"totp":{"enabled":false,"enabled_at":null},"webauthn":[],"recovery_codes_left":0}` {
			t.Fatalf("factors before: %s", got)
		}
		expect(t, "enable before setup", c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", `{"code":"123456"}`), 409, "totp_not_set_up")
		expect(t, "codes without a factor", c.do(t, "POST", "/api/v1/auth/mfa/recovery-codes", `{"current_password":"quiet-lamp-1"}`), 409, "mfa_not_enabled")
		expect(t, "setup, wrong password", c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"wrong-pw"}`), 403, "wrong_password")
		expect(t, "setup, no password", c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{}`), 422, "validation_failed")
		r = c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"quiet-lamp-1"}`)
		expect(t, "setup", r, 200, "")
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("setup Cache-Control %q", r.header.Get("Cache-Control"))
		}
		var setup struct {
			Secret     string `json:"secret"`
			OTPAuthURI string `json:"otpauth_uri"`
		}
		json.Unmarshal(r.body, &setup)
		if !regexp.MustCompile(`^otpauth://totp/cleanslice:alice\?.*secret=` + setup.Secret).MatchString(setup.OTPAuthURI) {
			t.Fatalf("setup %s", r.body)
		}
		// Sealed at rest: neither the secret nor its bytes are in the row.
		var sealed []byte
		if err := app.store.DB().QueryRow(`SELECT secret FROM mfa_totp WHERE user_id = $1`, u.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
		if len(raw) != 20 || bytes.Contains(sealed, []byte(setup.Secret)) || bytes.Contains(sealed, raw) {
			t.Fatalf("the stored secret holds the plaintext: %x", sealed)
		}
		expect(t, "enable, wrong code", c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", `{"code":"000000"}`), 422, "invalid_code")
		enabling := app.code(t, setup.Secret)
		r = c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", `{"code":"`+enabling+`"}`)
		expect(t, "enable", r, 200, "")
		var codes struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		json.Unmarshal(r.body, &codes)
		if len(codes.RecoveryCodes) != 10 || !regexp.MustCompile(`^[0-9a-z]{5}-[0-9a-z]{5}$`).MatchString(codes.RecoveryCodes[0]) {
			t.Fatalf("recovery codes %v", codes.RecoveryCodes)
		}
		expect(t, "enable again", c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", `{"code":"`+enabling+`"}`), 409, "totp_already_enabled")
		expect(t, "setup again", c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"quiet-lamp-1"}`), 409, "totp_already_enabled")
		r = c.do(t, "GET", "/api/v1/auth/mfa", "")
		if !strings.Contains(string(r.body), `"enabled":true`) || !strings.Contains(string(r.body), `"recovery_codes_left":10`) {
			t.Fatalf("factors after: %s", r.body)
		}
		for _, d := range app.dump(t, "mfa_recovery_codes") {
			for _, code := range codes.RecoveryCodes {
				if strings.Contains(d, strings.ReplaceAll(code, "-", "")) {
					t.Fatalf("a recovery code is stored in the clear: %s", d)
				}
			}
		}

		// The second step.
		p := app.pending(t, "alice")
		expect(t, "me with a pending login", p.do(t, "GET", "/api/v1/auth/me", ""), 401, "mfa_required")
		expect(t, "the enabling code again", p.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+enabling+`"}`), 401, "invalid_code")
		expect(t, "both codes", p.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"123456","recovery_code":"abcde-fghjk"}`), 422, "validation_failed")
		app.clock.Advance(totp.Period)
		code := app.code(t, setup.Secret)
		pendingCookie := p.http.Jar.Cookies(mustURL(t, app.url))[0].Value
		r = p.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+code+`"}`)
		expect(t, "second step", r, 200, "")
		if ck := r.sessionCookie(); ck == nil || ck.Value == pendingCookie {
			t.Fatal("no new session cookie")
		}
		// No fixation: the pending login's cookie is worth nothing now.
		replay := app.client()
		replay.http.Jar.SetCookies(mustURL(t, app.url), []*http.Cookie{{Name: "access_token", Value: pendingCookie}})
		expect(t, "the pending cookie again", replay.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+code+`"}`), 401, "not_authenticated")
		expect(t, "the ended pending login was cleared", replay.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		if n := app.count(t, "pending_logins"); n != 0 {
			t.Fatalf("%d pending logins outlived their second step", n)
		}
		expect(t, "me", p.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
		sessions := sessionsOf(t, p.do(t, "GET", "/api/v1/auth/sessions", ""))
		if len(sessions.Sessions) != 2 {
			t.Fatalf("sessions %+v", sessions)
		}
		// This login's, and the enrolling session, re-issued at aal 2 by
		// the enrollment (it proved both factors).
		for _, s := range sessions.Sessions {
			if s.AAL != 2 || !slices.Equal(s.Methods, []string{"password", "totp"}) {
				t.Fatalf("session %+v, want aal 2 and [password totp]", s)
			}
		}
		// The same code again, in another pending login: used.
		q := app.pending(t, "alice")
		expect(t, "a used code", q.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+code+`"}`), 401, "invalid_code")

		events := app.eventsOf(t, u.ID)
		if got := last(t, events, "login.succeeded").Details["methods"]; fmt.Sprint(got) != "[password totp]" {
			t.Fatalf("login.succeeded methods %v", got)
		}
		if got := last(t, events, "login.failed").Details["reason"]; got != "wrong_code" {
			t.Fatalf("login.failed reason %v", got)
		}
		for _, typ := range []string{"mfa.totp_enabled", "mfa.recovery_codes_generated", "reauthentication.failed"} {
			last(t, events, typ)
		}
		// The wrong password at setup, and the wrong first code at enable.
		var actions []string
		for _, e := range events {
			if e.Type == "reauthentication.failed" {
				actions = append(actions, fmt.Sprint(e.Details["action"]))
			}
		}
		slices.Sort(actions)
		if !slices.Equal(actions, []string{"enable_totp", "totp_setup"}) {
			t.Fatalf("reauthentication.failed actions %v", actions)
		}
	})
}

// TestWrongCodesAreLimited: five wrong codes end a pending login, and the
// wrong codes count in the username's login window, so that logging in
// again gives no more tries; a right password gave its own attempt back.
func TestWrongCodesAreLimited(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_failed_logins": "7"}, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		p := app.pending(t, "alice")
		for k := range 5 {
			expect(t, fmt.Sprintf("wrong code %d", k+1), p.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"000000"}`), 401, "invalid_code")
		}
		expect(t, "after five", p.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+app.code(t, e.secret)+`"}`), 401, "not_authenticated")
		// 5 of the window's 7 are used: a new pending login gets 2 codes.
		q := app.pending(t, "alice")
		expect(t, "sixth", q.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"000000"}`), 401, "invalid_code")
		expect(t, "seventh", q.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"000000"}`), 401, "invalid_code")
		expect(t, "the window is full", q.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+app.code(t, e.secret)+`"}`), 429, "too_many_attempts")
		expect(t, "starting over", app.client().login(t, "alice", seedPassword), 429, "too_many_attempts")
		if got := last(t, app.eventsOf(t, e.user.ID), "login.failed").Details["reason"]; got != "wrong_code" {
			t.Fatalf("login.failed reason %v", got)
		}
	})
}

// TestRecoveryCodes: each logs in once, counted down; regenerating voids
// the old set; disabling the last factor removes them and the password
// alone logs in again.
func TestRecoveryCodes(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		p := app.pending(t, "alice")
		code := strings.ToUpper(strings.ReplaceAll(e.codes[3], "-", " ")) // as typed
		r := p.do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+code+`"}`)
		expect(t, "recovery code", r, 200, "")
		ok := last(t, app.eventsOf(t, e.user.ID), "login.succeeded")
		if fmt.Sprint(ok.Details["methods"]) != "[password recovery_code]" || ok.Details["recovery_codes_left"] != float64(9) {
			t.Fatalf("login.succeeded details %v", ok.Details)
		}
		expect(t, "the code again", app.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+e.codes[3]+`"}`), 401, "invalid_code")

		r = e.client.do(t, "POST", "/api/v1/auth/mfa/recovery-codes", `{"current_password":"quiet-lamp-1"}`)
		expect(t, "regenerate", r, 200, "")
		var fresh struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		json.Unmarshal(r.body, &fresh)
		if len(fresh.RecoveryCodes) != 10 || slices.Contains(fresh.RecoveryCodes, e.codes[0]) {
			t.Fatalf("regenerated %v", fresh.RecoveryCodes)
		}
		expect(t, "an old code", app.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+e.codes[0]+`"}`), 401, "invalid_code")
		expect(t, "a new code", app.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+fresh.RecoveryCodes[0]+`"}`), 200, "")

		expect(t, "disable, wrong password", e.client.do(t, "POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"nope-nope"}`), 403, "wrong_password")
		expect(t, "disable", e.client.do(t, "POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"quiet-lamp-1"}`), 204, "")
		if n := app.count(t, "mfa_recovery_codes"); n != 0 {
			t.Fatalf("%d recovery codes outlived the last factor", n)
		}
		expect(t, "password alone", app.client().login(t, "alice", seedPassword), 200, "")
		expect(t, "disable again", e.client.do(t, "POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"quiet-lamp-1"}`), 204, "")
		if n := strings.Count(fmt.Sprint(app.eventsOf(t, e.user.ID)), "mfa.totp_disabled"); n != 1 {
			t.Fatalf("%d mfa.totp_disabled events, want 1 (the second disable changed nothing)", n)
		}
	})
}

// TestAdminResetsSecondFactors: support removes the factors of a user who
// lost them; the user's sessions and pending logins end, and the password
// alone logs in again.
func TestAdminResetsSecondFactors(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		p := app.pending(t, "alice")
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		r := admin.do(t, "PATCH", "/api/v1/users/reset-mfa", `{"username":"alice"}`)
		expect(t, "reset", r, 200, "")
		if !strings.Contains(string(r.body), `"username":"alice"`) {
			t.Fatalf("reset answered %s", r.body)
		}
		expect(t, "the old session", e.client.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "the pending login", p.do(t, "POST", "/api/v1/auth/login/mfa", `{"code":"`+app.code(t, e.secret)+`"}`), 401, "not_authenticated")
		expect(t, "password alone", app.client().login(t, "alice", seedPassword), 200, "")
		events := app.eventsOf(t, e.user.ID)
		reset := last(t, events, "mfa.reset")
		if reset.Details["totp"] != true || reset.Details["recovery_codes"] != float64(10) {
			t.Fatalf("mfa.reset details %v", reset.Details)
		}
		if ended := last(t, events, "session.ended"); ended.Details["reason"] != "mfa_reset" {
			t.Fatalf("session.ended %v", ended.Details)
		}
		before := len(app.eventsOf(t, e.user.ID))
		expect(t, "reset again", admin.do(t, "PATCH", "/api/v1/users/reset-mfa", `{"username":"alice"}`), 200, "")
		if after := len(app.eventsOf(t, e.user.ID)); after != before {
			t.Fatalf("an idempotent reset recorded %d events", after-before)
		}
	})
}

// TestPendingLoginIsRefusedEverywhere: the cookie of a pending login
// authorizes its second step alone; every route that needs a session (all
// of the document's cookieAuth operations) answers 401 mfa_required, and
// changes nothing.
func TestPendingLoginIsRefusedEverywhere(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	b, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.enroll(t, "alice", user.RoleAdmin)
		app.seed(t, "bobby", user.RoleUser)
		p := app.pending(t, "alice")
		before := app.snapshot(t)
		n := 0
		for path, ops := range doc.Paths {
			for method, op := range ops {
				if method == "parameters" || len(op.Security) == 0 || op.Security[0]["cookieAuth"] == nil {
					continue
				}
				n++
				path := strings.ReplaceAll(path, "{id}", uuid.Must(uuid.NewV7()).String())
				body := ""
				if method != "get" {
					body = `{}`
				}
				r := p.do(t, strings.ToUpper(method), path+"?username=bobby", body)
				expect(t, method+" "+path, r, http.StatusUnauthorized, "mfa_required")
			}
		}
		if n < 25 {
			t.Fatalf("only %d routes tried", n)
		}
		if after := app.snapshot(t); after != before {
			t.Fatalf("refused requests changed the database:\n%s\n->\n%s", before, after)
		}
		// And the second step still works with it.
		app.clock.Advance(totp.Period)
		expect(t, "second step", p.do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+"x"+`"}`), 401, "invalid_code")
	})
}

// TestOneCodeTwiceAtOnce: the same code sent at once by two pending
// logins of one user logs in once; so does a recovery code.
func TestOneCodeTwiceAtOnce(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		for _, body := range []string{`{"code":"` + app.code(t, e.secret) + `"}`, `{"recovery_code":"` + e.codes[0] + `"}`} {
			a, b := app.pending(t, "alice"), app.pending(t, "alice")
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for k, c := range []*client{a, b} {
				wg.Go(func() { statuses[k] = c.do(t, "POST", "/api/v1/auth/login/mfa", body).status })
			}
			wg.Wait()
			slices.Sort(statuses)
			if statuses[0] != 200 || statuses[1] != 401 {
				t.Fatalf("%s twice at once: %v, want one 200 and one 401", body, statuses)
			}
		}
	})
}

// TestMFAKeyRotation: secrets sealed and codes hashed under a key that is
// now a previous one still work; a secret used is sealed again under the
// current key, after which the old key can go.
func TestMFAKeyRotation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine, dbURL string) {
		oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
		before := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": oldKey})
		e := before.enroll(t, "alice", user.RoleUser)
		sealedBefore := before.dump(t, "mfa_totp")

		rotated := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": newKey, "mfa.previous_encryption_keys": oldKey})
		rotated.clock.Advance(time.Minute)
		if r := rotated.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", rotated.codeBody(t, e.secret)); r.status != 200 {
			t.Fatalf("a code, sealed under the old key: %d %s\n%s", r.status, r.body, rotated.logs.String())
		}
		if after := rotated.dump(t, "mfa_totp"); after[0] == sealedBefore[0] {
			t.Fatal("the secret was not sealed again under the new key")
		}
		expect(t, "a recovery code made under the old key", rotated.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", `{"recovery_code":"`+e.codes[0]+`"}`), 200, "")

		onlyNew := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": newKey})
		onlyNew.clock.Advance(2 * time.Minute)
		expect(t, "a code, the old key gone", onlyNew.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", onlyNew.codeBody(t, e.secret)), 200, "")
		unknown := newTestAppOn(t, dbURL, map[string]string{"mfa.encryption_key": strings.Repeat("u", 32)})
		unknown.clock.Advance(3 * time.Minute)
		expect(t, "a code, under a key never configured", unknown.pending(t, "alice").do(t, "POST", "/api/v1/auth/login/mfa", unknown.codeBody(t, e.secret)), 500, "internal")
	})
}

// TestRecoveryByEmailKeepsTheSecondFactor: a password recovered by mail
// logs in only up to the second step.
func TestRecoveryByEmailKeepsTheSecondFactor(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'alice@example.com', email_verified_at = created_at WHERE id = $1`, e.user.ID); err != nil {
			t.Fatal(err)
		}
		expect(t, "recovery", app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"alice@example.com"}`), 202, "")
		token := app.recoveryToken(t, "alice@example.com", 1)
		expect(t, "confirm", app.client().do(t, "POST", "/api/v1/auth/recovery/confirm", `{"token":"`+token+`","new_password":"brand-new-pw"}`), 204, "")
		expect(t, "login", app.client().login(t, "alice", "brand-new-pw"), 202, "")
	})
}

// TestPasswordResetBetweenTheSteps: credentials are current or worthless
// across the two steps too. A password set by an admin after the first
// step (or a recovery: the same write) ends the pending login: the right
// code then gets 401, no session is made, and the attempt is not a wrong
// code.
func TestPasswordResetBetweenTheSteps(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		e := app.enroll(t, "alice", user.RoleUser)
		p := app.pending(t, "alice")
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		expect(t, "admin sets a password", admin.do(t, "PATCH", "/api/v1/users/password", `{"username":"alice","password":"brand-new-pw"}`), 204, "")
		sessions := app.count(t, "sessions")
		expect(t, "the right code after the reset", p.do(t, "POST", "/api/v1/auth/login/mfa", app.codeBody(t, e.secret)), 401, "invalid_credentials")
		if n := app.count(t, "sessions"); n != sessions {
			t.Fatalf("a session was made on a replaced password")
		}
		if n := app.count(t, "pending_logins"); n != 0 {
			t.Fatalf("%d pending logins outlived the reset", n)
		}
		q := app.client()
		expect(t, "the new password", q.login(t, "alice", "brand-new-pw"), 202, "")
		expect(t, "its second step, with the same code", q.do(t, "POST", "/api/v1/auth/login/mfa", app.codeBody(t, e.secret)), 200, "")
	})
}

// TestSecondFactorNotices: each change of a user's second factors is
// told to their verified address, queued in the change's transaction.
func TestSecondFactorNotices(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		u := app.seed(t, "alice", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'alice@example.com', email_verified_at = created_at WHERE id = $1`, u.ID); err != nil {
			t.Fatal(err)
		}
		c := app.client()
		expect(t, "login", c.login(t, "alice", seedPassword), 200, "")
		r := c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"quiet-lamp-1"}`)
		var setup struct{ Secret string }
		json.Unmarshal(r.body, &setup)
		notices := func() string {
			return app.dumpColumn(t, `SELECT text_body FROM mail_outbox WHERE template = 'second_factor_changed' AND recipient = 'alice@example.com' ORDER BY created_at, id`)
		}
		if n := notices(); n != "" {
			t.Fatalf("a setup (nothing enabled yet) sent %q", n)
		}
		expect(t, "enable", c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", app.codeBody(t, setup.Secret)), 200, "")
		expect(t, "regenerate", c.do(t, "POST", "/api/v1/auth/mfa/recovery-codes", `{"current_password":"quiet-lamp-1"}`), 200, "")
		expect(t, "disable", c.do(t, "POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"quiet-lamp-1"}`), 204, "")
		got := notices()
		for _, want := range []string{"an authenticator app was added", "new recovery codes were made", "the authenticator app was removed"} {
			if !strings.Contains(got, want) {
				t.Errorf("the notices %q lack %q", got, want)
			}
		}
	})
}

// TestAssuranceIsEnforced: enrolling the first factor ends every session
// of the user (session.ended, mfa_enrolled) and gives the enrolling client
// a new one at aal 2. A password-only session of a user who has a factor
// (what a login racing with the enrollment leaves: stored here as that
// race would store it, which makes the race deterministic) reads, but
// changes no credential: 403 aal2_required, and nothing changes.
func TestAssuranceIsEnforced(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		u := app.seed(t, "alice", user.RoleUser)
		enrolling, other := app.client(), app.client()
		expect(t, "login", enrolling.login(t, "alice", seedPassword), 200, "")
		expect(t, "login elsewhere", other.login(t, "alice", seedPassword), 200, "")
		r := enrolling.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"`+seedPassword+`"}`)
		expect(t, "setup", r, 200, "")
		var setup struct {
			Secret string `json:"secret"`
		}
		json.Unmarshal(r.body, &setup)
		r = enrolling.do(t, "POST", "/api/v1/auth/mfa/totp/enable", app.codeBody(t, setup.Secret))
		expect(t, "enable", r, 200, "")
		if r.sessionCookie() == nil {
			t.Fatal("the first factor re-issues no session cookie")
		}
		app.clock.Advance(totp.Period)
		expect(t, "the other session after the enrollment", other.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		sessions := sessionsOf(t, enrolling.do(t, "GET", "/api/v1/auth/sessions", ""))
		if len(sessions.Sessions) != 1 || sessions.Sessions[0].AAL != 2 || !slices.Equal(sessions.Sessions[0].Methods, []string{"password", "totp"}) {
			t.Fatalf("sessions after the enrollment %+v: the enrolling one alone, at aal 2", sessions)
		}
		ended := last(t, app.eventsOf(t, u.ID), "session.ended")
		if ended.Details["reason"] != "mfa_enrolled" || fmt.Sprint(ended.Details["ended"]) != "2" {
			t.Fatalf("session.ended %+v: both sessions, reason mfa_enrolled", ended.Details)
		}
		// With aal 2, a credential change goes through.
		expect(t, "regenerate at aal 2", enrolling.do(t, "POST", "/api/v1/auth/mfa/recovery-codes", `{"current_password":"`+seedPassword+`"}`), 200, "")

		// A session made with the password alone, as a login racing with
		// the enrollment leaves it.
		secret, id := session.NewSecret()
		now := app.clock.Now()
		s := session.Policy{TTL: time.Hour, RefreshRatio: 0.2, AbsoluteTTL: 24 * time.Hour}.Start(id, u.ID, now)
		if err := app.store.InsertSession(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		jwt, err := token.NewJWT(token.Secrets{Current: app.cfg.Auth.JWTSecret}, app.clock.Now).Issue(secret, now, s.ExpiresAt)
		if err != nil {
			t.Fatal(err)
		}
		racer := app.client()
		racer.http.Jar.SetCookies(mustURL(t, app.url), []*http.Cookie{{Name: "access_token", Value: jwt}})
		expect(t, "me at aal 1", racer.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
		// A key made at aal 2, which the aal-1 session may not revoke.
		r = enrolling.do(t, "POST", "/api/v1/auth/api-keys", `{"name":"ci","scope":"read","expires_in":3600,"current_password":"`+seedPassword+`"}`)
		expect(t, "a key at aal 2", r, 201, "")
		keyID, _ := r.json(t)["id"].(string)
		dump := func() string {
			var all []string
			for _, table := range []string{"users", "mfa_totp", "mfa_recovery_codes", "api_keys"} {
				all = append(all, app.dump(t, table)...)
			}
			return strings.Join(all, "")
		}
		before := dump()
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/api/v1/auth/password", `{"current_password":"` + seedPassword + `","new_password":"another password"}`},
			{"PUT", "/api/v1/auth/email", `{"email":"mallory@example.com","current_password":"` + seedPassword + `"}`},
			{"POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"` + seedPassword + `"}`},
			{"POST", "/api/v1/auth/mfa/recovery-codes", `{"current_password":"` + seedPassword + `"}`},
			{"POST", "/api/v1/auth/mfa/webauthn/register/begin", `{"current_password":"` + seedPassword + `"}`},
			{"POST", "/api/v1/auth/api-keys", `{"name":"ci","scope":"full","expires_in":3600,"current_password":"` + seedPassword + `"}`},
			{"DELETE", "/api/v1/auth/api-keys/" + keyID, ""},
		} {
			expect(t, c.method+" "+c.path+" at aal 1", racer.do(t, c.method, c.path, c.body), 403, "aal2_required")
		}
		after := dump()
		if before != after {
			t.Fatal("a refused aal-1 change changed something")
		}
		if n := windowCount(t, app.store, passwordGuard(app.cfg).UserKey("alice")); n > 0 {
			t.Fatalf("%d attempts counted: a refusal for the session costs no password try", n)
		}
	})
}
