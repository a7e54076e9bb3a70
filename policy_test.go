package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/passkeys/passkeystest"
	"github.com/cleanslice/cleanslice/shared/user"
)

// What a session that must still enroll a second factor
// (auth.require_second_factor_for) gets on a route.
type enrollmentClass int

const (
	// refusedUntilEnrolled: 403 mfa_enrollment_required.
	refusedUntilEnrolled enrollmentClass = iota + 1
	// openWhileEnrolling: its own account, sessions and factors, and the
	// way to enroll one.
	openWhileEnrolling
	// noSession: a route that needs no session (probes, signing in,
	// one-time tokens); it answers a logged-in caller as it answers anyone.
	noSession
)

// enrollmentPolicy classifies every route of openapi.yaml: a new route
// fails TestEnrollmentPolicyCoversEveryRoute until it is classified here.
var enrollmentPolicy = map[string]enrollmentClass{
	"GET /api/v1/":                            noSession,
	"GET /livez":                              noSession,
	"GET /readyz":                             noSession,
	"POST /api/v1/auth/signup":                noSession,
	"POST /api/v1/auth/login":                 noSession,
	"POST /api/v1/auth/email/verify":          noSession,
	"POST /api/v1/auth/recovery":              noSession,
	"POST /api/v1/auth/recovery/confirm":      noSession,
	"POST /api/v1/auth/login/mfa":             noSession,
	"POST /api/v1/auth/login/webauthn/begin":  noSession,
	"POST /api/v1/auth/login/webauthn/finish": noSession,
	"POST /api/v1/auth/passkey/begin":         noSession,
	"POST /api/v1/auth/passkey/finish":        noSession,

	"GET /api/v1/auth/oauth/providers":            noSession,
	"GET /api/v1/auth/oauth/{provider}/start":     noSession,
	"GET /api/v1/auth/oauth/{provider}/callback":  noSession,
	"POST /api/v1/auth/oauth/{provider}/callback": noSession,

	"GET /api/v1/auth/me":                            openWhileEnrolling,
	"DELETE /api/v1/auth/logout":                     openWhileEnrolling,
	"GET /api/v1/auth/sessions":                      openWhileEnrolling,
	"DELETE /api/v1/auth/sessions":                   openWhileEnrolling,
	"DELETE /api/v1/auth/sessions/{id}":              openWhileEnrolling,
	"GET /api/v1/auth/mfa":                           openWhileEnrolling,
	"POST /api/v1/auth/mfa/totp/setup":               openWhileEnrolling,
	"POST /api/v1/auth/mfa/totp/enable":              openWhileEnrolling,
	"POST /api/v1/auth/mfa/webauthn/register/begin":  openWhileEnrolling,
	"POST /api/v1/auth/mfa/webauthn/register/finish": openWhileEnrolling,

	"PUT /api/v1/auth/password":             refusedUntilEnrolled,
	"DELETE /api/v1/auth/account":           refusedUntilEnrolled,
	"GET /api/v1/auth/activity":             refusedUntilEnrolled,
	"PUT /api/v1/auth/email":                refusedUntilEnrolled,
	"POST /api/v1/auth/email/verification":  refusedUntilEnrolled,
	"POST /api/v1/auth/mfa/totp/disable":    refusedUntilEnrolled,
	"POST /api/v1/auth/mfa/recovery-codes":  refusedUntilEnrolled,
	"POST /api/v1/auth/mfa/webauthn/remove": refusedUntilEnrolled,
	"GET /api/v1/users":                     refusedUntilEnrolled,
	"POST /api/v1/users":                    refusedUntilEnrolled,
	"PATCH /api/v1/users/inactivate":        refusedUntilEnrolled,
	"PATCH /api/v1/users/reactivate":        refusedUntilEnrolled,
	"PATCH /api/v1/users/grant":             refusedUntilEnrolled,
	"PATCH /api/v1/users/revoke":            refusedUntilEnrolled,
	"PATCH /api/v1/users/password":          refusedUntilEnrolled,
	"GET /api/v1/users/sessions":            refusedUntilEnrolled,
	"DELETE /api/v1/users/sessions":         refusedUntilEnrolled,
	"PATCH /api/v1/users/reset-mfa":         refusedUntilEnrolled,
	"GET /api/v1/audit":                     refusedUntilEnrolled,

	"GET /api/v1/auth/identities":         refusedUntilEnrolled,
	"POST /api/v1/auth/identities/{id}":   refusedUntilEnrolled,
	"DELETE /api/v1/auth/identities/{id}": refusedUntilEnrolled,
	"GET /api/v1/users/identities":        refusedUntilEnrolled,
	"DELETE /api/v1/users/identities":     refusedUntilEnrolled,

	"POST /api/v1/webhooks":                                  refusedUntilEnrolled,
	"GET /api/v1/webhooks":                                   refusedUntilEnrolled,
	"PATCH /api/v1/webhooks/{id}":                            refusedUntilEnrolled,
	"DELETE /api/v1/webhooks/{id}":                           refusedUntilEnrolled,
	"POST /api/v1/webhooks/{id}/secret":                      refusedUntilEnrolled,
	"GET /api/v1/webhooks/{id}/deliveries":                   refusedUntilEnrolled,
	"POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry": refusedUntilEnrolled,
	"POST /api/v1/webhooks/{id}/test":                        refusedUntilEnrolled,
	// API keys (SPEC 4f): a key is a credential; none is made, listed or
	// revoked until the second factor is.
	"POST /api/v1/auth/api-keys":        refusedUntilEnrolled,
	"GET /api/v1/auth/api-keys":         refusedUntilEnrolled,
	"DELETE /api/v1/auth/api-keys/{id}": refusedUntilEnrolled,
	"GET /api/v1/users/api-keys":        refusedUntilEnrolled,
	"DELETE /api/v1/users/api-keys":     refusedUntilEnrolled,
}

// enrollmentSettings: admins and super admins must have a second factor.
var enrollmentSettings = map[string]string{"auth.require_second_factor_for": "admin super_admin"}

// documentedRoutes is every operation of openapi.yaml, as "METHOD /path".
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	var routes []string
	for path, item := range mustDoc(t).doc.Paths.Map() {
		for method := range item.Operations() {
			routes = append(routes, method+" "+path)
		}
	}
	slices.Sort(routes)
	return routes
}

// TestEnrollmentPolicyCoversEveryRoute: every route of the API answers a
// session that must enroll a second factor as its class says: 403
// mfa_enrollment_required, changing nothing, or its usual answer. The
// requests are the same for a user whose role is not listed, who is
// refused by none.
func TestEnrollmentPolicyCoversEveryRoute(t *testing.T) {
	routes := documentedRoutes(t)
	for _, r := range routes {
		if enrollmentPolicy[r] == 0 {
			t.Errorf("%s is not classified in enrollmentPolicy: may a user who must enroll a second factor use it?", r)
		}
	}
	for r := range enrollmentPolicy {
		if !slices.Contains(routes, r) {
			t.Errorf("enrollmentPolicy lists %s, which openapi.yaml does not", r)
		}
	}
	if t.Failed() {
		return
	}
	forEachApp(t, enrollmentSettings, func(t *testing.T, app *testApp) {
		app.seed(t, "ada.admin", user.RoleAdmin)
		app.seed(t, "uma.user", user.RoleUser)
		app.seed(t, "some.user", user.RoleUser) // the target of admin requests
		refused := 0
		for _, r := range routes {
			// Each request logs in anew: past auth.max_sessions_per_user
			// a login ends the oldest session, which the clock (moved on)
			// tells from the new one.
			app.clock.Advance(time.Second)
			method, path, _ := strings.Cut(r, " ")
			path = strings.ReplaceAll(path, "{id}", uuid.Must(uuid.NewV7()).String()) + "?username=some.user"
			body := ""
			if method != "GET" && method != "DELETE" {
				body = `{}`
			}
			// A fresh session for each request: logging out, or ending the
			// other sessions, leaves the next request its own.
			admin := app.client()
			expect(t, "login ada.admin", admin.login(t, "ada.admin", seedPassword), 200, "")
			before := app.snapshot(t)
			got := admin.do(t, method, path, body)
			switch enrollmentPolicy[r] {
			case refusedUntilEnrolled:
				refused++
				expect(t, r+" by an admin who must enroll", got, http.StatusForbidden, "mfa_enrollment_required")
				if after := app.snapshot(t); after != before {
					t.Fatalf("%s: the refused request changed the database:\n%s\n->\n%s", r, before, after)
				}
			default:
				if code := problemCode(got); code == "mfa_enrollment_required" {
					t.Errorf("%s by an admin who must enroll: %d %s, want the route's own answer", r, got.status, got.body)
				}
			}
			// A user of a role not listed is refused by none.
			u := app.client()
			expect(t, "login uma.user", u.login(t, "uma.user", seedPassword), 200, "")
			if got := u.do(t, method, path, body); problemCode(got) == "mfa_enrollment_required" {
				t.Errorf("%s by a user: %d %s", r, got.status, got.body)
			}
		}
		if refused < 15 {
			t.Fatalf("only %d routes refused", refused)
		}
	})
}

// problemCode is the code of a problem answer, "" for any other.
func problemCode(r response) string {
	var p struct{ Code string }
	json.Unmarshal(r.body, &p)
	return p.Code
}

// TestEnrollingASecondFactor: an admin who must have a second factor reads
// their account, factors and sessions, ends sessions and logs out, and
// enrolls; once a factor is enrolled (an authenticator app, or a passkey)
// every route is theirs again, and removing their last factor closes
// them again. The super admin created from the command line is held to
// it too.
func TestEnrollingASecondFactor(t *testing.T) {
	forEachApp(t, enrollmentSettings, func(t *testing.T, app *testApp) {
		app.seed(t, "ada.admin", user.RoleAdmin)
		c := app.client()
		expect(t, "login", c.login(t, "ada.admin", seedPassword), 200, "")
		other := app.client()
		expect(t, "another login", other.login(t, "ada.admin", seedPassword), 200, "")
		expect(t, "me", c.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
		expect(t, "factors", c.do(t, "GET", "/api/v1/auth/mfa", ""), 200, "")
		if s := sessionsOf(t, c.do(t, "GET", "/api/v1/auth/sessions", "")); len(s.Sessions) != 2 {
			t.Fatalf("%d sessions listed, want 2", len(s.Sessions))
		}
		expect(t, "end an unknown session", c.do(t, "DELETE", "/api/v1/auth/sessions/"+uuid.Must(uuid.NewV7()).String(), ""), 404, "session_not_found")
		expect(t, "end the other sessions", c.do(t, "DELETE", "/api/v1/auth/sessions", ""), 204, "")
		expect(t, "the other session", other.do(t, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "list users", c.do(t, "GET", "/api/v1/users", ""), 403, "mfa_enrollment_required")
		expect(t, "change the password", c.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"`+seedPassword+`","new_password":"another password"}`), 403, "mfa_enrollment_required")
		expect(t, "login with the unchanged password", app.client().login(t, "ada.admin", seedPassword), 200, "")

		// Enrolling an authenticator app opens every route.
		r := c.do(t, "POST", "/api/v1/auth/mfa/totp/setup", `{"current_password":"`+seedPassword+`"}`)
		expect(t, "setup", r, 200, "")
		var setup struct{ Secret string }
		json.Unmarshal(r.body, &setup)
		expect(t, "list users, set up but not enabled", c.do(t, "GET", "/api/v1/users", ""), 403, "mfa_enrollment_required")
		expect(t, "enable", c.do(t, "POST", "/api/v1/auth/mfa/totp/enable", app.codeBody(t, setup.Secret)), 200, "")
		expect(t, "list users, enrolled", c.do(t, "GET", "/api/v1/users", ""), 200, "")
		expect(t, "activity, enrolled", c.do(t, "GET", "/api/v1/auth/activity", ""), 200, "")
		// Removing the last factor closes them again, at the next request.
		expect(t, "disable", c.do(t, "POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"`+seedPassword+`"}`), 204, "")
		expect(t, "list users, the factor removed", c.do(t, "GET", "/api/v1/users", ""), 403, "mfa_enrollment_required")
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")

		// A passkey is a factor too.
		app.seed(t, "pat.admin", user.RoleAdmin)
		p := app.client()
		expect(t, "login", p.login(t, "pat.admin", seedPassword), 200, "")
		expect(t, "list users, no passkey", p.do(t, "GET", "/api/v1/users", ""), 403, "mfa_enrollment_required")
		expect(t, "register a passkey", registerPasskey(t, p, passkeystest.New(testOrigin, testRPID), "Laptop"), 201, "")
		expect(t, "list users, with a passkey", p.do(t, "GET", "/api/v1/users", ""), 200, "")

		// The first super admin, created from the command line.
		err := usersCommand(context.Background(), app.cfg, []string{"create", "--username", "root.admin", "--role", "super_admin"},
			strings.NewReader("first super password\n"), io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s := app.client()
		expect(t, "super admin login", s.login(t, "root.admin", "first super password"), 200, "")
		expect(t, "the audit trail", s.do(t, "GET", "/api/v1/audit", ""), 403, "mfa_enrollment_required")
		expect(t, "create a user", s.do(t, "POST", "/api/v1/users", `{"username":"new.admin","password":"password1","role":"admin"}`), 403, "mfa_enrollment_required")
		expect(t, "super admin me", s.do(t, "GET", "/api/v1/auth/me", ""), 200, "")
	})
}

// TestMetricsTellNoAddressFromAnother: after a recovery request for a
// verified address and one for an unknown address, /metrics reads the
// same: no series counts recovery outcomes, the events only a known
// address causes, or the mail sent to it. (Timings, the runtime and the
// database pool are left out: they differ between any two runs.)
func TestMetricsTellNoAddressFromAnother(t *testing.T) {
	scrape := func(known bool) string {
		cfg, err := config.Load(writeConfig(t, mergeSettings(cheapHashing, map[string]string{"database.url": dbtest.URL(t, "sqlite")})), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		log, m := slog.New(slog.DiscardHandler), metrics.New()
		store, err := openStore(t.Context(), cfg.Database, audited(log, m))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		h, err := newHandler(background(t), cfg, log, store, m, &httpserver.Drain{}, httpserver.NewForeground(), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		app := &testApp{url: srv.URL, store: store, clock: &testClock{now: time.Now()}, cfg: cfg}
		for name, address := range map[string]string{"alice": "alice@example.com", "barrier.user": "barrier@example.com"} {
			u := app.seed(t, name, user.RoleUser)
			if _, err := store.DB().Exec(`UPDATE users SET email = $2, email_verified_at = created_at WHERE id = $1`, u.ID, address); err != nil {
				t.Fatal(err)
			}
		}
		c := app.client()
		address, sent := "nobody@example.com", 1
		if known {
			address, sent = "alice@example.com", 2
		}
		expect(t, "recovery", c.do(t, "POST", "/api/v1/auth/recovery", `{"email":"`+address+`"}`), 202, "")
		// A known address after it: its message says the worker got this
		// far (and the two texts differ by a count if recovery mail counts).
		expect(t, "recovery, barrier", c.do(t, "POST", "/api/v1/auth/recovery", `{"email":"barrier@example.com"}`), 202, "")
		app.recoveryToken(t, "barrier@example.com", 1)
		if known {
			app.recoveryToken(t, "alice@example.com", 1)
		}
		// The delivery loop's work, done here: every queued message sent
		// and counted as deliverMail counts it.
		d := &mailer.Deliverer{Store: store, Transport: mailer.LogTransport{Log: log}, From: cfg.Mail.From, MaxAttempts: cfg.Mail.MaxAttempts,
			Log: log, Observe: m.MailResult, Now: time.Now}
		if n, err := d.DeliverDue(t.Context()); err != nil || n != sent {
			t.Fatalf("delivered %d, %v; want %d", n, err, sent)
		}
		r := c.do(t, "GET", "/metrics", "")
		var kept []string
		for _, l := range strings.Split(string(r.body), "\n") {
			timing := strings.Contains(l, "_seconds_bucket") || strings.Contains(l, "_seconds_sum")
			if strings.Contains(l, "cleanslice_") && !timing {
				kept = append(kept, l)
			}
		}
		return strings.Join(kept, "\n")
	}
	known, unknown := scrape(true), scrape(false)
	if !strings.Contains(known, `cleanslice_http_requests_total{method="POST",route="/api/v1/auth/recovery",status="202"} 2`) {
		t.Fatalf("the metrics lack the requests:\n%s", known)
	}
	if known != unknown {
		t.Fatalf("the metrics tell a known address from an unknown one:\nknown:\n%s\nunknown:\n%s", known, unknown)
	}
}

// mergeSettings returns the settings of a, then b.
func mergeSettings(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
