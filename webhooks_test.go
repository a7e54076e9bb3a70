package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/passkeys/passkeystest"
	"github.com/cleanslice/cleanslice/platform/webhooks"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/user"
	"github.com/cleanslice/cleanslice/shared/webhook"
)

// hookSettings let deliveries reach the receivers of these tests, which
// listen on loopback.
var hookSettings = map[string]string{"webhooks.allow_private_targets": "true"}

// hook is one delivery as a receiver got it.
type hook struct {
	header http.Header
	body   []byte
}

func (h hook) id() string { return h.header.Get("webhook-id") }

// event is the body's type and data.
func (h hook) event(t *testing.T) (string, map[string]json.RawMessage) {
	t.Helper()
	var b struct {
		Type      string                     `json:"type"`
		Timestamp string                     `json:"timestamp"`
		Data      map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(h.body, &b); err != nil {
		t.Fatalf("body %s: %v", h.body, err)
	}
	if _, err := time.Parse(time.RFC3339Nano, b.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", b.Timestamp, err)
	}
	return b.Type, b.Data
}

// verify checks h with the Standard Webhooks library as a receiver
// holding secret would; strict checks the time stamp's freshness too (the
// tests that move the service's clock cannot).
func (h hook) verify(secret string, strict bool) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	if strict {
		return wh.Verify(h.body, h.header)
	}
	return wh.VerifyIgnoringTimestamp(h.body, h.header)
}

// hookReceiver is a webhook receiver on loopback: it keeps every delivery
// and answers with answer's status for the n-th (from 1); when hold gives
// the n-th a channel, it waits for it to close (or for the sender to give
// up) first.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []hook
	answer func(n int) int
	hold   func(n int) <-chan struct{}
}

func newReceiver(t *testing.T, answer func(n int) int) *hookReceiver {
	t.Helper()
	r := &hookReceiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, hook{req.Header.Clone(), body})
	n := len(r.got)
	r.mu.Unlock()
	if r.hold != nil {
		if c := r.hold(n); c != nil {
			select {
			case <-c:
			case <-req.Context().Done():
				return
			}
		}
	}
	status := http.StatusNoContent
	if r.answer != nil {
		status = r.answer(n)
	}
	w.WriteHeader(status)
}

// hooks returns what it got so far.
func (r *hookReceiver) hooks() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wait waits until it got at least n deliveries, and returns them.
func (r *hookReceiver) wait(t *testing.T, n int) []hook {
	t.Helper()
	for range 1000 {
		if got := r.hooks(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the receiver got %d deliveries in 10 s, want %d", len(r.hooks()), n)
	return nil
}

// waitFor waits for the delivery whose webhook-id is id.
func (r *hookReceiver) waitFor(t *testing.T, id string) hook {
	t.Helper()
	for range 1000 {
		for _, h := range r.hooks() {
			if h.id() == id {
				return h
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no delivery of %s in 10 s", id)
	return hook{}
}

// startDelivery runs the webhook delivery loop of app, polling often,
// on app's clock, until the test ends.
func (a *testApp) startDelivery(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := newWebhookDeliverer(a.cfg, a.store, mfaKeys(a.cfg.MFA), slog.New(slog.NewJSONHandler(a.logs, nil)), nil, a.clock.Now)
	done := make(chan struct{})
	go func() {
		d.Run(ctx, 10*time.Millisecond)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// createHook registers an endpoint through the API and returns its id and
// secret.
func createHook(t *testing.T, root *client, url string, events ...string) (id, secret string) {
	t.Helper()
	ev, _ := json.Marshal(events)
	r := root.do(t, "POST", "/api/v1/webhooks", fmt.Sprintf(`{"url":%q,"events":%s,"description":"test","current_password":%q}`, url, ev, seedPassword))
	expect(t, "create webhook", r, 201, "")
	var b struct{ ID, Secret string }
	json.Unmarshal(r.body, &b)
	return b.ID, b.Secret
}

// awaitRetry waits until n deliveries of an endpoint have been attempted
// and their failed attempt recorded, and returns them. The clock stands still meanwhile:
// a claimed delivery is due at the end of its lease, now + webhooks.Lease,
// until its result moves that to the retry's time; the test may move the
// clock on only then (a retry is scheduled from the clock as it was when
// the attempt ended).
func awaitRetry(t *testing.T, app *testApp, root *client, endpoint string, n int) []listedDelivery {
	t.Helper()
	leaseEnd := app.clock.Now().Add(webhooks.Lease)
	for range 500 {
		d := deliveriesOf(t, root, endpoint)
		recorded := 0
		for _, x := range d {
			if x.NextAttemptAt == nil || x.Attempts == 0 {
				continue
			}
			if next, err := time.Parse(time.RFC3339Nano, *x.NextAttemptAt); err == nil && (next.Sub(leaseEnd) > time.Millisecond || leaseEnd.Sub(next) > time.Millisecond) {
				recorded++
			}
		}
		if recorded >= n {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d failed attempts not recorded in 5 s", n)
	return nil
}

// deliveriesOf returns an endpoint's deliveries as the API lists them.
type listedDelivery struct {
	ID            string  `json:"id"`
	EventType     string  `json:"event_type"`
	Attempts      int     `json:"attempts"`
	LastStatus    *int    `json:"last_status"`
	NextAttemptAt *string `json:"next_attempt_at"`
	DeliveredAt   *string `json:"delivered_at"`
	GivenUpAt     *string `json:"given_up_at"`
}

func deliveriesOf(t *testing.T, root *client, endpoint string) []listedDelivery {
	t.Helper()
	r := root.do(t, "GET", "/api/v1/webhooks/"+endpoint+"/deliveries", "")
	expect(t, "list deliveries", r, 200, "")
	var b struct{ Deliveries []listedDelivery }
	json.Unmarshal(r.body, &b)
	return b.Deliveries
}

// eventSteps cause each audit event type through the API, in an order in
// which each finds what it needs (a verified address before recovery, a
// factor before its removal). Every type of audit.Types has its step: a
// type added without one fails TestEveryEventIsDelivered.
type hookScene struct {
	app         *testApp
	root, admin *client
	sally       *client // signs up; her address and password change
	recv410     *hookReceiver
	spare       string             // a second endpoint's id
	provider    *mockoidc.MockOIDC // the identity provider "corp"
	enrolled    enrolled           // the client of a step that the next step goes on with
	passkey     string             // the id of what a step made (a passkey, an API key) for the next step
}

var eventSteps = []struct {
	typ   audit.Type
	cause func(t *testing.T, s *hookScene)
}{
	{audit.UserSignedUp, func(t *testing.T, s *hookScene) {
		s.sally = s.app.client()
		expect(t, "signup", s.sally.do(t, "POST", "/api/v1/auth/signup", `{"username":"sally.signup","password":"quiet-lamp-1","email":"sally@example.com"}`), 201, "")
	}},
	{audit.EmailVerified, func(t *testing.T, s *hookScene) {
		expect(t, "verify", s.app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, s.app.queuedToken(t, "sally@example.com"))), 204, "")
	}},
	{audit.LoginSucceeded, func(t *testing.T, s *hookScene) {
		expect(t, "login", s.sally.login(t, "sally.signup", seedPassword), 200, "")
	}},
	{audit.LoginFailed, func(t *testing.T, s *hookScene) {
		expect(t, "a wrong password", s.app.client().login(t, "sally.signup", "not her password"), 401, "")
	}},
	{audit.ReauthenticationFailed, func(t *testing.T, s *hookScene) {
		expect(t, "a wrong current password", s.sally.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"nope-nope","new_password":"another-lamp-2"}`), 403, "wrong_password")
	}},
	{audit.PasswordChanged, func(t *testing.T, s *hookScene) {
		expect(t, "change password", s.sally.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"quiet-lamp-1","new_password":"another-lamp-2"}`), 204, "")
	}},
	{audit.EmailChanged, func(t *testing.T, s *hookScene) {
		expect(t, "change address", s.sally.do(t, "PUT", "/api/v1/auth/email", `{"email":"sally2@example.com","current_password":"another-lamp-2"}`), 200, "")
		expect(t, "verify it", s.app.client().do(t, "POST", "/api/v1/auth/email/verify", fmt.Sprintf(`{"token":%q}`, s.app.queuedToken(t, "sally2@example.com"))), 204, "")
	}},
	{audit.RecoveryRequested, func(t *testing.T, s *hookScene) {
		expect(t, "recovery", s.app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"sally2@example.com"}`), 202, "")
	}},
	{audit.PasswordRecovered, func(t *testing.T, s *hookScene) {
		token := s.app.recoveryToken(t, "sally2@example.com", 1)
		expect(t, "confirm", s.app.client().do(t, "POST", "/api/v1/auth/recovery/confirm", fmt.Sprintf(`{"token":%q,"new_password":"third-lamp-3"}`, token)), 204, "")
	}},
	{audit.UserCreated, func(t *testing.T, s *hookScene) {
		expect(t, "create", s.admin.do(t, "POST", "/api/v1/users", `{"username":"carl.created","password":"quiet-lamp-1","role":"user"}`), 201, "")
	}},
	{audit.PasswordSet, func(t *testing.T, s *hookScene) {
		expect(t, "set password", s.admin.do(t, "PATCH", "/api/v1/users/password", `{"username":"carl.created","password":"other-lamp-4"}`), 204, "")
	}},
	{audit.UserInactivated, func(t *testing.T, s *hookScene) {
		expect(t, "inactivate", s.admin.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody("carl.created")), 200, "")
	}},
	{audit.UserReactivated, func(t *testing.T, s *hookScene) {
		expect(t, "reactivate", s.admin.do(t, "PATCH", "/api/v1/users/reactivate", usernameBody("carl.created")), 200, "")
	}},
	{audit.AdminGranted, func(t *testing.T, s *hookScene) {
		expect(t, "grant", s.root.do(t, "PATCH", "/api/v1/users/grant", usernameBody("carl.created")), 200, "")
	}},
	{audit.AdminRevoked, func(t *testing.T, s *hookScene) {
		expect(t, "revoke", s.root.do(t, "PATCH", "/api/v1/users/revoke", usernameBody("carl.created")), 200, "")
	}},
	{audit.SessionEnded, func(t *testing.T, s *hookScene) {
		c := s.app.client()
		expect(t, "login", c.login(t, "carl.created", "other-lamp-4"), 200, "")
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
	}},
	{audit.TOTPEnabled, func(t *testing.T, s *hookScene) {
		s.enrolled = s.app.enroll(t, "tina.totp", user.RoleUser)
	}},
	{audit.RecoveryCodesGenerated, func(t *testing.T, s *hookScene) {
		expect(t, "new codes", s.enrolled.client.do(t, "POST", "/api/v1/auth/mfa/recovery-codes", `{"current_password":"`+seedPassword+`"}`), 200, "")
	}},
	{audit.TOTPDisabled, func(t *testing.T, s *hookScene) {
		expect(t, "disable", s.enrolled.client.do(t, "POST", "/api/v1/auth/mfa/totp/disable", `{"current_password":"`+seedPassword+`"}`), 204, "")
	}},
	{audit.WebAuthnAdded, func(t *testing.T, s *hookScene) {
		c := s.app.loggedIn(t, "pete.passkey", user.RoleUser)
		r := registerPasskey(t, c, passkeystest.New(testOrigin, testRPID), "laptop")
		expect(t, "register a passkey", r, 201, "")
		var b struct{ ID string }
		json.Unmarshal(r.body, &b)
		s.passkey = b.ID
		s.enrolled = enrolled{client: c}
	}},
	{audit.WebAuthnRemoved, func(t *testing.T, s *hookScene) {
		expect(t, "remove", s.enrolled.client.do(t, "POST", "/api/v1/auth/mfa/webauthn/remove", `{"id":"`+s.passkey+`","current_password":"`+seedPassword+`"}`), 204, "")
	}},
	{audit.MFAReset, func(t *testing.T, s *hookScene) {
		s.app.enroll(t, "rita.reset", user.RoleUser)
		expect(t, "reset", s.admin.do(t, "PATCH", "/api/v1/users/reset-mfa", usernameBody("rita.reset")), 200, "")
	}},
	{audit.UserDeleted, func(t *testing.T, s *hookScene) {
		c := s.app.loggedIn(t, "dora.delete", user.RoleUser)
		expect(t, "delete", c.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`), 204, "")
	}},
	{audit.IdentityLinked, func(t *testing.T, s *hookScene) {
		s.enrolled = enrolled{client: s.app.loggedIn(t, "ivy.identity", user.RoleUser)}
		s.provider.QueueUser(mockUser("ivy-"+strings.ReplaceAll(t.Name(), "/", "-"), "ivy@example.com", true, "ivy"))
		if to := s.enrolled.client.linkWith(t, "corp", seedPassword); to != "/linked" {
			t.Fatalf("linked: %q", to)
		}
	}},
	{audit.IdentityUnlinked, func(t *testing.T, s *hookScene) {
		l := identitiesOf(t, s.enrolled.client.do(t, "GET", "/api/v1/auth/identities", ""))
		expect(t, "unlink", s.enrolled.client.do(t, "DELETE", "/api/v1/auth/identities/"+l.Identities[0].ID, `{"current_password":"`+seedPassword+`"}`), 204, "")
	}},
	{audit.APIKeyCreated, func(t *testing.T, s *hookScene) {
		s.enrolled = enrolled{client: s.app.loggedIn(t, "kim.keys", user.RoleUser)}
		s.passkey = createKey(t, s.enrolled.client, "read", 3600).ID
	}},
	{audit.APIKeyRevoked, func(t *testing.T, s *hookScene) {
		expect(t, "revoke", s.enrolled.client.do(t, "DELETE", "/api/v1/auth/api-keys/"+s.passkey, ""), 204, "")
	}},
	{audit.WebhookCreated, func(t *testing.T, s *hookScene) {
		s.spare, _ = createHook(t, s.root, s.recv410.srv.URL, "user.deleted")
	}},
	{audit.WebhookUpdated, func(t *testing.T, s *hookScene) {
		expect(t, "update", s.root.do(t, "PATCH", "/api/v1/webhooks/"+s.spare, `{"description":"spare"}`), 200, "")
	}},
	{audit.WebhookSecretRotated, func(t *testing.T, s *hookScene) {
		expect(t, "rotate", s.root.do(t, "POST", "/api/v1/webhooks/"+s.spare+"/secret", `{"current_password":"`+seedPassword+`"}`), 200, "")
	}},
	{audit.WebhookDisabled, func(t *testing.T, s *hookScene) {
		// Its receiver answers 410 to the test event.
		expect(t, "test", s.root.do(t, "POST", "/api/v1/webhooks/"+s.spare+"/test", `{}`), 202, "")
	}},
	{audit.WebhookDeleted, func(t *testing.T, s *hookScene) {
		expect(t, "delete", s.root.do(t, "DELETE", "/api/v1/webhooks/"+s.spare, ""), 204, "")
	}},
}

// TestEveryEventIsDelivered: an endpoint subscribed to "*" receives every
// event type, each cause by the API, signed (verified with the Standard
// Webhooks library's verifier), its webhook-id the event's id and its data
// the event as the audit API shows it, without ip, user_agent and
// request_id, with the target's user object, and nothing secret.
func TestEveryEventIsDelivered(t *testing.T) {
	var covered []audit.Type
	for _, s := range eventSteps {
		covered = append(covered, s.typ)
	}
	for _, typ := range audit.Types {
		if !slices.Contains(covered, typ) {
			t.Errorf("%s has no step in eventSteps: how is it caused, and is it delivered?", typ)
		}
	}
	if t.Failed() {
		return
	}
	settings := func(ms []*mockoidc.MockOIDC) map[string]string {
		return withProviders(hookSettings, providerOf("corp", ms[0], nil))
	}
	forEachAppWithMocks(t, 1, settings, func(t *testing.T, app *testApp, ms []*mockoidc.MockOIDC) {
		app.startDelivery(t)
		s := &hookScene{app: app, root: app.loggedIn(t, "root.admin", user.RoleSuperAdmin), admin: app.loggedIn(t, "ada.admin", user.RoleAdmin),
			recv410: newReceiver(t, func(int) int { return http.StatusGone }), provider: ms[0]}
		recv := newReceiver(t, nil)
		_, secret := createHook(t, s.root, recv.srv.URL, "*")
		seen := map[string]bool{}
		for _, step := range eventSteps {
			step.cause(t, s)
			// The newest event of the type (the recovery request's comes
			// from the worker), as the audit API shows it.
			var e auditEvent
			for range 500 {
				page := auditPageOf(t, s.root.do(t, "GET", "/api/v1/audit?limit=1&type="+string(step.typ), ""))
				if len(page.Events) == 1 && !seen[page.Events[0].ID] {
					e = page.Events[0]
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if e.ID == "" {
				t.Fatalf("%s: no new event", step.typ)
			}
			seen[e.ID] = true
			h := recv.waitFor(t, e.ID)
			if err := h.verify(secret, true); err != nil {
				t.Fatalf("%s: the delivery does not verify: %v", step.typ, err)
			}
			typ, data := h.event(t)
			if typ != string(step.typ) {
				t.Fatalf("%s: delivered as %s", step.typ, typ)
			}
			for _, leak := range []string{"argon2", "token=", "whsec_", "access_token", "192.0.2", "127.0.0.1", `"ip"`, `"user_agent"`, `"request_id"`} {
				if strings.Contains(string(h.body), leak) {
					t.Fatalf("%s: the body carries %q: %s", step.typ, leak, h.body)
				}
			}
			want := maps.Clone(e.raw)
			for _, k := range []string{"ip", "user_agent", "request_id"} {
				delete(want, k)
			}
			got := maps.Clone(data)
			userObject := got["user"]
			delete(got, "user")
			if step.typ == audit.UserDeleted { // the trail forgets the account; the delivery was made before
				delete(want, "actor")
				delete(want, "target")
				delete(got, "actor")
				delete(got, "target")
			}
			if !jsonEqual(t, want, got) {
				t.Fatalf("%s: data %s\nwant the audit API's event %s", step.typ, mustJSON(got), mustJSON(want))
			}
			var target, u struct{ ID string }
			json.Unmarshal(data["target"], &target)
			json.Unmarshal(userObject, &u)
			if target.ID != u.ID || (u.ID != "" && !strings.Contains(string(userObject), `"email_verified"`)) {
				t.Fatalf("%s: user object %s for target %s", step.typ, userObject, data["target"])
			}
		}
		if n := len(recv.hooks()); n < len(eventSteps) {
			t.Fatalf("%d deliveries for %d steps", n, len(eventSteps))
		}
		for _, h := range recv.hooks() {
			if typ, _ := h.event(t); typ == "webhook.test" {
				t.Fatal("another endpoint's test event reached the \"*\" endpoint")
			}
		}
	})
}

func jsonEqual(t *testing.T, a, b map[string]json.RawMessage) bool {
	t.Helper()
	var x, y any
	json.Unmarshal([]byte(mustJSON(a)), &x)
	json.Unmarshal([]byte(mustJSON(b)), &y)
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRetriesKeepTheirID: a receiver that answers 500, 500, then 204 gets
// three attempts of one delivery, 5 s and then 5 min apart, under one
// webhook-id and one body; the deliveries route shows the attempts and
// the last status.
func TestRetriesKeepTheirID(t *testing.T) {
	forEachApp(t, hookSettings, func(t *testing.T, app *testApp) {
		app.startDelivery(t)
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		recv := newReceiver(t, func(n int) int { return []int{500, 500, 204}[min(n, 3)-1] })
		id, secret := createHook(t, root, recv.srv.URL, "login.failed")
		expect(t, "a failed login", app.client().login(t, "nobody.here", "x-x-x-x-x"), 401, "")
		recv.wait(t, 1)
		d := awaitRetry(t, app, root, id, 1)
		if len(d) != 1 || d[0].Attempts != 1 || d[0].LastStatus == nil || *d[0].LastStatus != 500 {
			t.Fatalf("after the first attempt: %+v", d)
		}
		app.clock.Advance(webhooks.Schedule[0])
		recv.wait(t, 2)
		awaitRetry(t, app, root, id, 1)
		app.clock.Advance(webhooks.Schedule[1])
		got := recv.wait(t, 3)
		time.Sleep(50 * time.Millisecond)
		if len(recv.hooks()) != 3 {
			t.Fatalf("%d attempts, want 3", len(recv.hooks()))
		}
		for _, h := range got {
			if h.id() != got[0].id() || string(h.body) != string(got[0].body) {
				t.Fatalf("attempts differ: %s %s / %s %s", h.id(), h.body, got[0].id(), got[0].body)
			}
			if err := h.verify(secret, false); err != nil {
				t.Fatal(err)
			}
		}
		for range 100 {
			if d = deliveriesOf(t, root, id); d[0].DeliveredAt != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if d[0].ID != got[0].id() || d[0].Attempts != 3 || *d[0].LastStatus != 204 || d[0].DeliveredAt == nil || d[0].NextAttemptAt != nil {
			t.Fatalf("after the third attempt: %+v", d[0])
		}
	})
}

// TestReceiverDownThenBack: while the receiver is down, a burst of events
// fails its first attempts; once it is back, the next attempts deliver
// every event, each under its own webhook-id, none lost.
func TestReceiverDownThenBack(t *testing.T) {
	forEachApp(t, hookSettings, func(t *testing.T, app *testApp) {
		app.startDelivery(t)
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // down: connections refused
		id, secret := createHook(t, root, "http://"+addr+"/hooks", "login.failed")
		const burst = 20
		for n := range burst {
			expect(t, "a failed login", app.client().login(t, fmt.Sprintf("nobody.%d", n), "x-x-x-x-x"), 401, "")
		}
		awaitRetry(t, app, root, id, burst)
		// Back, on the same address.
		recv := &hookReceiver{}
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(recv.serve)}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		app.clock.Advance(webhooks.Schedule[0])
		got := recv.wait(t, burst)
		ids := map[string]bool{}
		for _, h := range got {
			if err := h.verify(secret, true); err != nil {
				t.Fatal(err)
			}
			ids[h.id()] = true
		}
		if len(ids) != burst {
			t.Fatalf("%d distinct deliveries of %d events", len(ids), burst)
		}
	})
}

// TestNoRedirectIsFollowed: a receiver that answers with a redirect (here
// to another receiver, as it could to an internal address) gets its 3xx
// recorded as a failed attempt; the address redirected to gets nothing.
func TestNoRedirectIsFollowed(t *testing.T) {
	forEachApp(t, hookSettings, func(t *testing.T, app *testApp) {
		app.startDelivery(t)
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		inside := newReceiver(t, nil)
		outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, inside.srv.URL+"/internal", http.StatusTemporaryRedirect)
		}))
		t.Cleanup(outside.Close)
		id, _ := createHook(t, root, outside.URL, "user.deleted")
		expect(t, "test", root.do(t, "POST", "/api/v1/webhooks/"+id+"/test", `{}`), 202, "")
		var d []listedDelivery
		for range 500 {
			if d = deliveriesOf(t, root, id); len(d) == 1 && d[0].LastStatus != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(d) != 1 || d[0].EventType != "webhook.test" || *d[0].LastStatus != http.StatusTemporaryRedirect || d[0].DeliveredAt != nil || d[0].NextAttemptAt == nil {
			t.Fatalf("deliveries %+v", d)
		}
		if n := len(inside.hooks()); n != 0 {
			t.Fatalf("the redirect was followed: %d requests", n)
		}
	})
}

// TestSlowReceiverDelaysNothing: while one endpoint's receiver holds
// every request (as one that takes 30 s would), the requests that cause
// events answer at once, and another endpoint receives every event.
func TestSlowReceiverDelaysNothing(t *testing.T) {
	forEachApp(t, hookSettings, func(t *testing.T, app *testApp) {
		app.startDelivery(t)
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		slow, fast := newReceiver(t, nil), newReceiver(t, nil)
		release := make(chan struct{})
		defer close(release)
		slow.hold = func(int) <-chan struct{} { return release }
		createHook(t, root, slow.srv.URL, "*")
		createHook(t, root, fast.srv.URL, "*")
		c := app.client()
		expect(t, "signup", c.signup(t, "quick.signup", seedPassword), 201, "")
		slow.wait(t, 1) // held now
		// Each of these answers while the slow receiver holds the first
		// delivery (the client's timeout would fail a request that waited
		// for it).
		expect(t, "login", c.login(t, "quick.signup", seedPassword), 200, "")
		expect(t, "logout", c.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
		var types []string
		for range 1000 {
			types = nil
			for _, h := range fast.hooks() {
				if typ, _ := h.event(t); !strings.HasPrefix(typ, "webhook.") {
					types = append(types, typ)
				}
			}
			if len(types) >= 3 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		slices.Sort(types)
		if !slices.Equal(types, []string{"login.succeeded", "session.ended", "user.signed_up"}) {
			t.Fatalf("the fast receiver got %v", types)
		}
	})
}

// TestTwoReplicasDeliverOnce: two replicas on one PostgreSQL database,
// each with its delivery loop, deliver every event of a burst once.
func TestTwoReplicasDeliverOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine, dbURL string) {
		if engine != "postgres" {
			t.Skip("one SQLite file has one writer; replicas share PostgreSQL")
		}
		a, b := newTestAppOn(t, dbURL, hookSettings), newTestAppOn(t, dbURL, hookSettings)
		a.startDelivery(t)
		b.startDelivery(t)
		root := a.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		recv := newReceiver(t, nil)
		createHook(t, root, recv.srv.URL, "login.failed")
		const burst = 40 // below the per-client limit of failed logins
		var wg sync.WaitGroup
		for n := range burst {
			app := []*testApp{a, b}[n%2]
			wg.Go(func() {
				if r := app.client().login(t, fmt.Sprintf("nobody.%d", n), "x-x-x-x-x"); r.status != http.StatusUnauthorized {
					t.Errorf("a failed login: %d", r.status)
				}
			})
		}
		wg.Wait()
		recv.wait(t, burst)
		time.Sleep(200 * time.Millisecond)
		count := map[string]int{}
		for _, h := range recv.hooks() {
			count[h.id()]++
		}
		if len(count) != burst || len(recv.hooks()) != burst {
			t.Fatalf("%d deliveries of %d distinct events, want %d of %d", len(recv.hooks()), len(count), burst, burst)
		}
	})
}

// TestSecretRotation: after a rotation, a receiver holding only the old
// secret and one holding only the new both verify every delivery for 24
// hours; after that, only the new one does. A wrong password rotates
// nothing.
func TestSecretRotation(t *testing.T) {
	forEachApp(t, hookSettings, func(t *testing.T, app *testApp) {
		app.startDelivery(t)
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		recv := newReceiver(t, nil)
		id, oldSecret := createHook(t, root, recv.srv.URL, "login.failed")
		expect(t, "a wrong password", root.do(t, "POST", "/api/v1/webhooks/"+id+"/secret", `{"current_password":"not it"}`), 403, "wrong_password")
		r := root.do(t, "POST", "/api/v1/webhooks/"+id+"/secret", `{"current_password":"`+seedPassword+`"}`)
		expect(t, "rotate", r, 200, "")
		var b struct{ Secret string }
		json.Unmarshal(r.body, &b)
		newSecret := b.Secret
		if newSecret == oldSecret || !strings.HasPrefix(newSecret, "whsec_") {
			t.Fatalf("new secret %q", newSecret)
		}
		expect(t, "a failed login", app.client().login(t, "nobody.one", "x-x-x-x-x"), 401, "")
		h := recv.wait(t, 1)[0]
		for name, s := range map[string]string{"old": oldSecret, "new": newSecret} {
			if err := h.verify(s, true); err != nil {
				t.Errorf("during the overlap, a receiver with only the %s secret: %v", name, err)
			}
		}
		app.clock.Advance(24*time.Hour + time.Second)
		expect(t, "a failed login", app.client().login(t, "nobody.two", "x-x-x-x-x"), 401, "")
		h = recv.wait(t, 2)[1]
		if err := h.verify(newSecret, false); err != nil {
			t.Errorf("after the overlap, the new secret: %v", err)
		}
		if err := h.verify(oldSecret, false); err == nil {
			t.Error("after the overlap, the old secret still verifies")
		}
	})
}

// TestWebhookAdministration: only a super admin manages endpoints;
// creating one needs the current password and a valid URL and
// subscription (every bad field listed); the list never shows a secret;
// a new URL needs the password; a test event goes to its endpoint alone;
// a delivery is retried by hand under its id; a deleted endpoint is gone.
func TestWebhookAdministration(t *testing.T) {
	forEachApp(t, hookSettings, func(t *testing.T, app *testApp) {
		app.startDelivery(t)
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		admin := app.loggedIn(t, "ada.admin", user.RoleAdmin)
		recv, other := newReceiver(t, nil), newReceiver(t, nil)
		body := fmt.Sprintf(`{"url":%q,"events":["user.created"],"description":"d","current_password":%q}`, recv.srv.URL, seedPassword)
		expect(t, "an admin", admin.do(t, "POST", "/api/v1/webhooks", body), 403, "forbidden")
		expect(t, "an admin lists", admin.do(t, "GET", "/api/v1/webhooks", ""), 403, "forbidden")
		before := app.count(t, "webhook_endpoints")
		r := root.do(t, "POST", "/api/v1/webhooks", `{"url":"http://169.254.169.254/latest","events":["user.exploded"],"description":"d"}`)
		expect(t, "bad fields", r, 422, "validation_failed")
		if f := problemFields(t, r); !slices.Equal(f, []string{"url", "events", "current_password"}) {
			t.Fatalf("fields %v", f)
		}
		expect(t, "a wrong password", root.do(t, "POST", "/api/v1/webhooks", strings.Replace(body, seedPassword, "not it", 1)), 403, "wrong_password")
		if app.count(t, "webhook_endpoints") != before {
			t.Fatal("a refused creation stored an endpoint")
		}
		id, secret := createHook(t, root, recv.srv.URL, "user.created")
		otherID, _ := createHook(t, root, other.srv.URL, "*")
		r = root.do(t, "GET", "/api/v1/webhooks", "")
		expect(t, "list", r, 200, "")
		if strings.Contains(string(r.body), "whsec_") || strings.Contains(string(r.body), secret) || !strings.Contains(string(r.body), id) {
			t.Fatalf("list %s", r.body)
		}
		for _, row := range app.dump(t, "webhook_endpoints") {
			if strings.Contains(row, strings.TrimPrefix(secret, "whsec_")) {
				t.Fatalf("a secret stored in the clear: %s", row)
			}
		}

		// A new URL needs the password; the rest does not.
		expect(t, "a new URL without the password", root.do(t, "PATCH", "/api/v1/webhooks/"+id, `{"url":"https://elsewhere.example.com/"}`), 422, "validation_failed")
		r = root.do(t, "PATCH", "/api/v1/webhooks/"+id, `{"events":["user.created","user.deleted"],"description":"renamed"}`)
		expect(t, "update", r, 200, "")
		if !strings.Contains(string(r.body), `"events":["user.created","user.deleted"]`) {
			t.Fatalf("updated %s", r.body)
		}
		expect(t, "an unknown endpoint", root.do(t, "PATCH", "/api/v1/webhooks/"+user.NewID().String(), `{"enabled":false}`), 404, "webhook_not_found")
		expect(t, "a malformed id", root.do(t, "DELETE", "/api/v1/webhooks/nope", ""), 404, "webhook_not_found")

		// A test event: to this endpoint alone, signed, its own id.
		expect(t, "test", root.do(t, "POST", "/api/v1/webhooks/"+id+"/test", `{}`), 202, "")
		h := recv.wait(t, 1)[0]
		if typ, data := h.event(t); typ != "webhook.test" || !strings.Contains(string(data["details"]), id) || h.verify(secret, true) != nil {
			t.Fatalf("test delivery %s", h.body)
		}
		time.Sleep(50 * time.Millisecond)
		for _, h := range other.hooks() {
			if typ, _ := h.event(t); typ == "webhook.test" {
				t.Fatal("another endpoint got the test event")
			}
		}
		// Retried by hand: sent again, under the same id.
		d := deliveriesOf(t, root, id)
		expect(t, "retry through another endpoint", root.do(t, "POST", "/api/v1/webhooks/"+otherID+"/deliveries/"+d[0].ID+"/retry", `{}`), 404, "webhook_not_found")
		for range 100 {
			if d = deliveriesOf(t, root, id); d[0].DeliveredAt != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		expect(t, "retry", root.do(t, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+d[0].ID+"/retry", `{}`), 202, "")
		if again := recv.wait(t, 2)[1]; again.id() != h.id() || string(again.body) != string(h.body) {
			t.Fatalf("the retry: %s %s", again.id(), again.body)
		}
		// Paging.
		r = root.do(t, "GET", "/api/v1/webhooks/"+id+"/deliveries?limit=0", "")
		expect(t, "a bad limit", r, 422, "validation_failed")

		expect(t, "delete", root.do(t, "DELETE", "/api/v1/webhooks/"+id, ""), 204, "")
		expect(t, "delete again", root.do(t, "DELETE", "/api/v1/webhooks/"+id, ""), 404, "webhook_not_found")
		expect(t, "its deliveries", root.do(t, "GET", "/api/v1/webhooks/"+id+"/deliveries", ""), 404, "webhook_not_found")
		var kinds []string
		for _, e := range auditPageOf(t, root.do(t, "GET", "/api/v1/audit?type=webhook.created,webhook.updated,webhook.deleted,reauthentication.failed", "")).Events {
			kinds = append(kinds, e.Type)
		}
		if !slices.Equal(kinds, []string{"webhook.deleted", "webhook.updated", "webhook.created", "webhook.created", "reauthentication.failed"}) {
			t.Fatalf("events %v", kinds)
		}
	})
}

// TestDeliverySurvivesKill: the program, in a process of its own, sends a
// delivery and is killed (SIGKILL) while the receiver holds the request,
// so the attempt is never recorded. Once its lease ends, a new process on
// the same database sends the delivery again, under the same webhook-id
// with the same body (at least once: the receiver deduplicates by id), and
// records it delivered.
func TestDeliverySurvivesKill(t *testing.T) {
	runIfChild(t)
	forEachEngine(t, func(t *testing.T, engine, dbURL string) {
		settings := map[string]string{"database.url": dbURL, "log.format": "json", "webhooks.allow_private_targets": "true"}
		for k, v := range cheapHashing {
			settings[k] = v
		}
		cfg, err := config.Load(writeConfig(t, settings), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		store := dbtest.OpenOn(t, engine, dbURL, nil)
		// The first request is held until its sender is dead; the second
		// is answered at once.
		arrived, release := make(chan struct{}), make(chan struct{})
		recv := newReceiver(t, nil)
		recv.hold = func(n int) <-chan struct{} {
			if n != 1 {
				return nil
			}
			close(arrived)
			return release
		}
		endpoint := webhook.Endpoint{ID: user.NewID(), URL: recv.srv.URL, Events: []string{"*"}, Enabled: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		secret := string(webhook.NewSecret())
		if err := store.InsertWebhookEndpoint(context.Background(), endpoint, mfaKeys(cfg.MFA).SealWebhookSecret(endpoint.ID, secret)); err != nil {
			t.Fatal(err)
		}

		c := startChild(t, "TestDeliverySurvivesKill", settings)
		expect(t, "signup", send(t, &http.Client{Timeout: 10 * time.Second}, "POST", c.base+"/api/v1/auth/signup", `{"username":"kill.signup","password":"quiet-lamp-1"}`), 201, "")
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("no delivery reached the receiver:\n%s", c.logs)
		}
		c.kill(t)
		close(release)
		var attempts int
		var delivered sql.NullString
		if err := store.DB().QueryRow(`SELECT attempts, delivered_at FROM webhook_deliveries WHERE endpoint_id = $1`, endpoint.ID).Scan(&attempts, &delivered); err != nil {
			t.Fatal(err)
		}
		if attempts != 1 || delivered.Valid {
			t.Fatalf("after the kill: %d attempts, delivered %v; want 1 attempt unrecorded", attempts, delivered)
		}
		// The lease (webhooks.Lease, 30 s) ends: time passes.
		if _, err := store.DB().Exec(`UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE endpoint_id = $2`,
			time.Now().Add(-time.Second).UTC().Format("2006-01-02T15:04:05.000000Z"), endpoint.ID); err != nil {
			t.Fatal(err)
		}

		s := startService(t, settings)
		got := recv.wait(t, 2)
		if got[0].id() != got[1].id() || string(got[0].body) != string(got[1].body) {
			t.Fatalf("the delivery sent again differs: %s %s / %s %s", got[0].id(), got[0].body, got[1].id(), got[1].body)
		}
		for _, h := range got {
			if err := h.verify(secret, true); err != nil {
				t.Fatal(err)
			}
		}
		for range 300 {
			store.DB().QueryRow(`SELECT attempts, delivered_at FROM webhook_deliveries WHERE endpoint_id = $1`, endpoint.ID).Scan(&attempts, &delivered)
			if delivered.Valid {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if attempts != 2 || !delivered.Valid {
			t.Fatalf("after the new process: %d attempts, delivered %v\n%s", attempts, delivered, s.logs)
		}
	})
}
