package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/user"
)

// What an API key gets on a route.
type keyClass int

const (
	// keyAllowed: the key's user acts (a key of scope read with a safe
	// method only; else 403 forbidden).
	keyAllowed keyClass = iota + 1
	// sessionOnly: 403 session_required, the key unchecked: the account,
	// its credentials and sessions, signing in and out.
	sessionOnly
	// noCredentials: a route that reads no credential (probes, one-time
	// tokens): it answers a key as it answers anyone.
	noCredentials
)

// keyPolicy classifies every route of openapi.yaml for API keys: a new
// route fails TestKeyPolicyCoversEveryRoute until it is classified here,
// and the OpenAPI document's security of each operation must say the same.
var keyPolicy = map[string]keyClass{
	"GET /api/v1/":                       noCredentials,
	"GET /livez":                         noCredentials,
	"GET /readyz":                        noCredentials,
	"POST /api/v1/auth/email/verify":     noCredentials,
	"POST /api/v1/auth/recovery":         noCredentials,
	"POST /api/v1/auth/recovery/confirm": noCredentials,

	"GET /api/v1/auth/me":            keyAllowed,
	"GET /api/v1/auth/activity":      keyAllowed,
	"GET /api/v1/users":              keyAllowed,
	"POST /api/v1/users":             keyAllowed,
	"PATCH /api/v1/users/inactivate": keyAllowed,
	"PATCH /api/v1/users/reactivate": keyAllowed,
	"PATCH /api/v1/users/grant":      keyAllowed,
	"PATCH /api/v1/users/revoke":     keyAllowed,
	"PATCH /api/v1/users/password":   keyAllowed,
	"GET /api/v1/users/sessions":     keyAllowed,
	"DELETE /api/v1/users/sessions":  keyAllowed,
	"PATCH /api/v1/users/reset-mfa":  keyAllowed,
	"GET /api/v1/audit":              keyAllowed,

	"POST /api/v1/auth/signup":                       sessionOnly,
	"POST /api/v1/auth/login":                        sessionOnly,
	"POST /api/v1/auth/login/mfa":                    sessionOnly,
	"POST /api/v1/auth/login/webauthn/begin":         sessionOnly,
	"POST /api/v1/auth/login/webauthn/finish":        sessionOnly,
	"POST /api/v1/auth/passkey/begin":                sessionOnly,
	"POST /api/v1/auth/passkey/finish":               sessionOnly,
	"DELETE /api/v1/auth/logout":                     sessionOnly,
	"PUT /api/v1/auth/password":                      sessionOnly,
	"DELETE /api/v1/auth/account":                    sessionOnly,
	"PUT /api/v1/auth/email":                         sessionOnly,
	"POST /api/v1/auth/email/verification":           sessionOnly,
	"GET /api/v1/auth/sessions":                      sessionOnly,
	"DELETE /api/v1/auth/sessions":                   sessionOnly,
	"DELETE /api/v1/auth/sessions/{id}":              sessionOnly,
	"GET /api/v1/auth/mfa":                           sessionOnly,
	"POST /api/v1/auth/mfa/totp/setup":               sessionOnly,
	"POST /api/v1/auth/mfa/totp/enable":              sessionOnly,
	"POST /api/v1/auth/mfa/totp/disable":             sessionOnly,
	"POST /api/v1/auth/mfa/recovery-codes":           sessionOnly,
	"POST /api/v1/auth/mfa/webauthn/register/begin":  sessionOnly,
	"POST /api/v1/auth/mfa/webauthn/register/finish": sessionOnly,
	"POST /api/v1/auth/mfa/webauthn/remove":          sessionOnly,

	"POST /api/v1/auth/api-keys":        sessionOnly,
	"GET /api/v1/auth/api-keys":         sessionOnly,
	"DELETE /api/v1/auth/api-keys/{id}": sessionOnly,
	"GET /api/v1/users/api-keys":        keyAllowed,
	"DELETE /api/v1/users/api-keys":     keyAllowed,

	// Identity providers (SPEC 4d): signing in is a person's; the list of
	// providers and the provider's callback read no credential; an admin's
	// key may see and unlink a user's identities, as other admin routes.
	"GET /api/v1/auth/oauth/providers":            noCredentials,
	"GET /api/v1/auth/oauth/{provider}/callback":  noCredentials,
	"POST /api/v1/auth/oauth/{provider}/callback": noCredentials,
	"GET /api/v1/auth/oauth/{provider}/start":     sessionOnly,
	"GET /api/v1/auth/identities":                 sessionOnly,
	"POST /api/v1/auth/identities/{id}":           sessionOnly,
	"DELETE /api/v1/auth/identities/{id}":         sessionOnly,
	"GET /api/v1/users/identities":                keyAllowed,
	"DELETE /api/v1/users/identities":             keyAllowed,

	// Webhooks (SPEC 4e): where the security trail goes and the secrets
	// that sign it are a super admin's, from a session, never a script's.
	"POST /api/v1/webhooks":                                  sessionOnly,
	"GET /api/v1/webhooks":                                   sessionOnly,
	"PATCH /api/v1/webhooks/{id}":                            sessionOnly,
	"DELETE /api/v1/webhooks/{id}":                           sessionOnly,
	"POST /api/v1/webhooks/{id}/secret":                      sessionOnly,
	"GET /api/v1/webhooks/{id}/deliveries":                   sessionOnly,
	"POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry": sessionOnly,
	"POST /api/v1/webhooks/{id}/test":                        sessionOnly,
}

// apiKey stores a key of the user name (as the create route would, without
// the route) and returns it as its holder does.
func (a *testApp) apiKey(t *testing.T, name string, scope apikey.Scope, lifetime time.Duration) string {
	t.Helper()
	k, key := apikey.Issue(mfaKeys(a.cfg.MFA).HashAPIKey, a.userID(t, name), "test", scope, a.clock.Now(), lifetime)
	if ok, err := a.store.InsertAPIKey(context.Background(), k); err != nil || !ok {
		t.Fatalf("store a key of %s: %v, %v", name, ok, err)
	}
	return key
}

// bearer makes a request with key, from a client without cookies.
func (a *testApp) bearer(t *testing.T, key, method, path, body string) response {
	t.Helper()
	return a.client().do(t, method, path, body, "Authorization", "Bearer "+key)
}

// TestKeyPolicyCoversEveryRoute: every route of the API answers a key of
// each scope as its class says: session_required or a read-only refusal
// changing nothing, or its own answer with the key's user acting.
func TestKeyPolicyCoversEveryRoute(t *testing.T) {
	routes := documentedRoutes(t)
	for _, r := range routes {
		if keyPolicy[r] == 0 {
			t.Errorf("%s is not classified in keyPolicy: may an API key use it?", r)
		}
	}
	for r := range keyPolicy {
		if !slices.Contains(routes, r) {
			t.Errorf("keyPolicy lists %s, which openapi.yaml does not", r)
		}
	}
	// The document says the same: an operation lists bearerAuth exactly
	// when a key may use it.
	for path, item := range mustDoc(t).doc.Paths.Map() {
		for method, op := range item.Operations() {
			bearer := false
			if op.Security != nil {
				for _, req := range *op.Security {
					_, ok := req["bearerAuth"]
					bearer = bearer || ok
				}
			}
			if r := method + " " + path; bearer != (keyPolicy[r] == keyAllowed) {
				t.Errorf("%s: openapi.yaml lists bearerAuth: %v; keyPolicy: %v", r, bearer, keyPolicy[r])
			}
		}
	}
	if t.Failed() {
		return
	}
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.seed(t, "root.admin", user.RoleSuperAdmin)
		app.seed(t, "some.user", user.RoleUser) // the target of admin requests
		counts := map[string]int{}
		for _, scope := range []apikey.Scope{apikey.ScopeRead, apikey.ScopeFull} {
			for _, r := range routes {
				method, path, _ := strings.Cut(r, " ")
				path = strings.ReplaceAll(path, "{id}", uuid.Must(uuid.NewV7()).String()) + "?username=some.user"
				body := ""
				if method != "GET" && method != "DELETE" {
					body = `{}`
				}
				// A fresh key for each request: none is revoked by another's.
				key := app.apiKey(t, "root.admin", scope, time.Hour)
				before := app.snapshot(t)
				got := app.bearer(t, key, method, path, body)
				code := problemCode(got)
				unchanged := func(what string) {
					t.Helper()
					if after := app.snapshot(t); after != before {
						t.Fatalf("%s with a %s key (%s): the database changed:\n%s\n->\n%s", r, scope, what, before, after)
					}
				}
				switch class := keyPolicy[r]; {
				case class == sessionOnly:
					counts["session"]++
					expect(t, r+" with a "+string(scope)+" key", got, http.StatusForbidden, "session_required")
					unchanged("session_required")
				case class == keyAllowed && !scope.Allows(method):
					counts["read-only"]++
					expect(t, r+" with a read key", got, http.StatusForbidden, "forbidden")
					if !strings.Contains(string(got.body), "scope read") {
						t.Fatalf("%s with a read key: %s, not the scope's refusal", r, got.body)
					}
					unchanged("read-only")
				default:
					counts["served"]++
					if got.status == http.StatusUnauthorized || code == "session_required" || code == "forbidden" || code == "ambiguous_credentials" {
						t.Errorf("%s with a %s key: %d %s, want the route's own answer", r, scope, got.status, got.body)
					}
				}
			}
		}
		if counts["session"] < 40 || counts["read-only"] < 8 || counts["served"] < 20 {
			t.Fatalf("too few routes of a kind: %v", counts)
		}
	})
}

// TestAPIKeyActsAsItsUser: a key reads who it is, an admin's key reaches
// the admin routes while its user is an admin and loses them at once when
// demoted; its use is written once a minute at most; a request with a
// key and a cookie is 400; the events it causes name it.
func TestAPIKeyActsAsItsUser(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		app.seed(t, "ada.admin", user.RoleAdmin)
		app.seed(t, "some.user", user.RoleUser)
		key := app.apiKey(t, "ada.admin", apikey.ScopeFull, time.Hour)
		id, _, _ := apikey.Parse(key)

		r := app.bearer(t, key, "GET", "/api/v1/auth/me", "")
		expect(t, "me with a key", r, 200, "")
		if m := r.json(t); m["username"] != "ada.admin" || m["role"] != "admin" {
			t.Fatalf("me %s", r.body)
		}
		if r.sessionCookie() != nil {
			t.Fatal("a key's request set a cookie")
		}
		expect(t, "list users", app.bearer(t, key, "GET", "/api/v1/users", ""), 200, "")
		expect(t, "inactivate a user", app.bearer(t, key, "PATCH", "/api/v1/users/inactivate", usernameBody("some.user")), 200, "")
		inactivated := last(t, app.eventsOf(t, app.userID(t, "some.user")), "user.inactivated")
		if inactivated.Details["api_key"] != id.String() {
			t.Fatalf("the event of a key's request: %v, want details.api_key %s", inactivated.Details, id)
		}
		// Demoted: the next request is a user's.
		expect(t, "demote", root.do(t, "PATCH", "/api/v1/users/revoke", usernameBody("ada.admin")), 200, "")
		expect(t, "list users, demoted", app.bearer(t, key, "GET", "/api/v1/users", ""), 403, "forbidden")
		expect(t, "me, demoted", app.bearer(t, key, "GET", "/api/v1/auth/me", ""), 200, "")

		// The use, written once a minute.
		used := func() string {
			var used string
			err := app.store.DB().QueryRow(`SELECT coalesce(last_used_ip, '') || ' ' || coalesce(CAST(last_used_at AS TEXT), 'never') FROM api_keys WHERE id = $1`, id.Bytes()).Scan(&used)
			if err != nil {
				t.Fatal(err)
			}
			return used
		}
		first := used()
		if !strings.HasPrefix(first, "127.0.0.1 ") || strings.HasSuffix(first, "never") {
			t.Fatalf("the use: %q", first)
		}
		app.clock.Advance(30 * time.Second)
		expect(t, "me", app.bearer(t, key, "GET", "/api/v1/auth/me", ""), 200, "")
		if used() != first {
			t.Fatalf("a use within the minute was written: %q -> %q", first, used())
		}
		app.clock.Advance(31 * time.Second)
		expect(t, "me", app.bearer(t, key, "GET", "/api/v1/auth/me", ""), 200, "")
		if used() == first {
			t.Fatal("a use a minute on was not written")
		}

		if l := app.logLines(key[apikey.PrefixLen:]); l != "" {
			t.Fatalf("the key is in the logs:\n%s", l)
		}
		if !strings.Contains(app.logs.String(), `"route":"/api/v1/auth/me"`) {
			t.Fatal("no request lines captured: the search above proves nothing")
		}

		// A key and a cookie: 400, on a key's route and a session's.
		both := app.loggedIn(t, "bob.user", user.RoleUser)
		expect(t, "a key and a cookie", both.do(t, "GET", "/api/v1/auth/me", "", "Authorization", "Bearer "+key), 400, "ambiguous_credentials")
		expect(t, "a key and a cookie, a session's route", both.do(t, "GET", "/api/v1/auth/sessions", "", "Authorization", "Bearer "+key), 400, "ambiguous_credentials")
	})
}

// TestRefusedAPIKeys: a malformed key, an unknown one, a wrong secret, an
// expired key and a revoked key get the same 401 body; each counts in the
// client's window, and past auth's 50 per window the next bad key is 429.
// The key is never in the service's logs.
func TestRefusedAPIKeys(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.seed(t, "ada.admin", user.RoleAdmin)
		good := app.apiKey(t, "ada.admin", apikey.ScopeFull, time.Hour)
		expired := app.apiKey(t, "ada.admin", apikey.ScopeFull, time.Minute)
		revoked := app.apiKey(t, "ada.admin", apikey.ScopeFull, time.Hour)
		revokedID, _, _ := apikey.Parse(revoked)
		if err := app.store.DeleteUserAPIKey(t.Context(), app.userID(t, "ada.admin"), revokedID); err != nil {
			t.Fatal(err)
		}
		unknown, _, _ := apikey.Generate()
		// The good key's row gets another key's hash: the good key's
		// secret is wrong for it.
		if _, err := app.store.DB().Exec(`UPDATE api_keys SET secret_hash = (SELECT secret_hash FROM api_keys WHERE id = $1) WHERE id = $2`,
			app.keyRowID(t, expired).Bytes(), app.keyRowID(t, good).Bytes()); err != nil {
			t.Fatal(err)
		}
		app.clock.Advance(2 * time.Minute) // the expired key is over
		var bodies []string
		for _, k := range []string{good[:apikey.Len-1] + "x", unknown, good, expired, revoked, "", "cs_" + strings.Repeat("a", 71)} {
			r := app.bearer(t, k, "GET", "/api/v1/auth/me", "")
			expect(t, "a refused key", r, 401, "not_authenticated")
			// The body but its request id.
			bodies = append(bodies, string(r.body[:strings.Index(string(r.body), `"request_id"`)]))
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Fatalf("two refusals differ:\n%s\n%s", bodies[0], b)
			}
		}
		for n := len(bodies); n < loginFailuresPerIP; n++ {
			expect(t, "a refused key", app.bearer(t, unknown, "GET", "/api/v1/users", ""), 401, "not_authenticated")
		}
		r := app.bearer(t, unknown, "GET", "/api/v1/auth/me", "")
		expect(t, "past the window", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		for _, k := range []string{good, expired, revoked, unknown} {
			if l := app.logLines(k[apikey.PrefixLen:]); l != "" {
				t.Fatalf("a key is in the logs:\n%s", l)
			}
		}
	})
}

// keyRowID is the id of key.
func (a *testApp) keyRowID(t *testing.T, key string) uuid.UUID {
	t.Helper()
	id, _, err := apikey.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRevokedKeyOnEveryReplica: a key revoked, or expired, through one
// replica is refused at the next request on the other (two services on
// one PostgreSQL).
func TestRevokedKeyOnEveryReplica(t *testing.T) {
	dbURL := dbtest.URL(t, "postgres")
	a, b := newTestAppOn(t, dbURL, nil), newTestAppOn(t, dbURL, nil)
	a.seed(t, "ada.admin", user.RoleAdmin)
	root := a.loggedIn(t, "root.admin", user.RoleSuperAdmin)
	key := a.apiKey(t, "ada.admin", apikey.ScopeRead, time.Hour)
	for _, app := range []*testApp{a, b} {
		expect(t, "me", app.bearer(t, key, "GET", "/api/v1/auth/me", ""), 200, "")
	}
	expect(t, "revoke through replica a", root.do(t, "DELETE", "/api/v1/users/api-keys", `{"username":"ada.admin"}`), 200, "")
	for _, app := range []*testApp{b, a} {
		expect(t, "me, revoked", app.bearer(t, key, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
	}
	short := a.apiKey(t, "ada.admin", apikey.ScopeRead, time.Minute)
	expect(t, "me", b.bearer(t, short, "GET", "/api/v1/auth/me", ""), 200, "")
	a.clock.Advance(time.Minute)
	b.clock.Advance(time.Minute)
	for _, app := range []*testApp{a, b} {
		expect(t, "me, expired", app.bearer(t, short, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
	}
}

// createKey creates a key through the API with c's session and returns the
// answer's body.
type createdKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Key       string    `json:"key"`
	Scope     string    `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func createKey(t *testing.T, c *client, scope string, expiresIn int) createdKey {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/auth/api-keys", fmt.Sprintf(`{"name":"ci","scope":%q,"expires_in":%d,"current_password":%q}`, scope, expiresIn, seedPassword))
	expect(t, "create a key", r, 201, "")
	var k createdKey
	if err := json.Unmarshal(r.body, &k); err != nil {
		t.Fatal(err)
	}
	return k
}

// verify gives name the verified address address.
func (a *testApp) verify(t *testing.T, name, address string) {
	t.Helper()
	if _, err := a.store.DB().Exec(`UPDATE users SET email = $2, email_verified_at = created_at WHERE username = $1`, name, address); err != nil {
		t.Fatal(err)
	}
}

// TestCreateAPIKey: a session makes a key after its password; the key is
// shown once, acts as its user, is listed by its prefix (never itself),
// and is announced to the verified address and in the trail. A wrong
// password is counted and recorded; bad input names each field.
func TestCreateAPIKey(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		alice := app.loggedIn(t, "alice.user", user.RoleUser)
		app.verify(t, "alice.user", "alice@example.com")
		start := app.clock.Now()
		r := alice.do(t, "POST", "/api/v1/auth/api-keys", `{"name":"deploy","scope":"read","expires_in":3600,"current_password":"`+seedPassword+`"}`)
		expect(t, "create", r, 201, "")
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
		}
		var k createdKey
		json.Unmarshal(r.body, &k)
		if k.Prefix != k.Key[:apikey.PrefixLen] || k.Name != "deploy" || k.Scope != "read" || app.keyRowID(t, k.Key).String() != k.ID ||
			!k.ExpiresAt.Equal(user.Timestamp(start.Add(time.Hour))) {
			t.Fatalf("created %+v", k)
		}
		me := app.bearer(t, k.Key, "GET", "/api/v1/auth/me", "")
		expect(t, "me with the new key", me, 200, "")
		if me.json(t)["username"] != "alice.user" {
			t.Fatalf("me %s", me.body)
		}
		list := alice.do(t, "GET", "/api/v1/auth/api-keys", "")
		expect(t, "list", list, 200, "")
		if strings.Contains(string(list.body), k.Key[apikey.PrefixLen:]) || !strings.Contains(string(list.body), `"prefix":"`+k.Prefix+`"`) {
			t.Fatalf("the list %s", list.body)
		}
		for _, row := range app.dump(t, "api_keys") {
			if strings.Contains(row, k.Key[apikey.PrefixLen:]) {
				t.Fatalf("the stored row holds the key: %s", row)
			}
		}
		if n := app.dumpColumn(t, `SELECT template FROM mail_outbox WHERE recipient = 'alice@example.com'`); n != "api_key_created" {
			t.Fatalf("mail queued: %q", n)
		}
		created := last(t, app.eventsOf(t, app.userID(t, "alice.user")), "api_key.created")
		if created.Details["key"] != k.ID || created.Details["scope"] != "read" {
			t.Fatalf("api_key.created %v", created.Details)
		}

		// A wrong password: 403, counted, recorded.
		expect(t, "a wrong password", alice.do(t, "POST", "/api/v1/auth/api-keys", `{"name":"x","scope":"read","expires_in":3600,"current_password":"not it"}`), 403, "wrong_password")
		if n := windowCount(t, app.store, passwordGuard(app.cfg).UserKey("alice.user")); n != 1 {
			t.Fatalf("the user's window holds %d", n)
		}
		failed := last(t, app.eventsOf(t, app.userID(t, "alice.user")), "reauthentication.failed")
		if failed.Details["action"] != "create_api_key" {
			t.Fatalf("reauthentication.failed %v", failed.Details)
		}
		// Bad input: every field named, nothing made.
		r = alice.do(t, "POST", "/api/v1/auth/api-keys", `{"name":"","scope":"admin","current_password":""}`)
		expect(t, "bad input", r, 422, "validation_failed")
		if got := strings.Join(problemFields(t, r), " "); got != "name scope expires_in current_password" {
			t.Fatalf("fields %q", got)
		}
		for _, expiresIn := range []string{"59", "31536001", "-1", "0"} {
			r := alice.do(t, "POST", "/api/v1/auth/api-keys", `{"name":"x","scope":"full","expires_in":`+expiresIn+`,"current_password":"`+seedPassword+`"}`)
			expect(t, "expires_in "+expiresIn, r, 422, "validation_failed")
		}
		if n := app.count(t, "api_keys"); n != 1 {
			t.Fatalf("%d keys stored", n)
		}
	})
}

// TestCreateAPIKeyForAnotherUser is CVE-2025-61928's regression test: a
// key is only ever its creator's. Without a session, naming a user in the
// body makes nothing (401); with a session, a body naming another user is
// refused (400, an unknown member) and makes nothing; a key cannot create
// keys at all.
func TestCreateAPIKeyForAnotherUser(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		bob := app.seed(t, "bob.admin", user.RoleAdmin)
		alice := app.loggedIn(t, "alice.user", user.RoleUser)
		for _, member := range []string{`"user_id":"` + bob.ID.String() + `"`, `"username":"bob.admin"`, `"userId":"` + bob.ID.String() + `"`} {
			body := `{"name":"x","scope":"full","expires_in":3600,"current_password":"` + seedPassword + `",` + member + `}`
			expect(t, "no session, "+member, app.client().do(t, "POST", "/api/v1/auth/api-keys", body), 401, "not_authenticated")
			expect(t, "alice's session, "+member, alice.do(t, "POST", "/api/v1/auth/api-keys", body), 400, "bad_request")
		}
		bobKey := app.apiKey(t, "bob.admin", apikey.ScopeFull, time.Hour)
		body := `{"name":"x","scope":"full","expires_in":3600,"current_password":"` + seedPassword + `"}`
		expect(t, "with bob's key", app.bearer(t, bobKey, "POST", "/api/v1/auth/api-keys", body), 403, "session_required")
		if n := app.count(t, "api_keys"); n != 1 {
			t.Fatalf("%d keys: something was made", n)
		}
		// Alice's own key is hers, whoever else exists.
		k := createKey(t, alice, "full", 3600)
		if me := app.bearer(t, k.Key, "GET", "/api/v1/auth/me", ""); me.json(t)["username"] != "alice.user" {
			t.Fatalf("alice's key acts as %s", me.body)
		}
		if n := app.dumpColumn(t, `SELECT count(*) FROM api_keys WHERE user_id = '`+bob.ID.String()+`'`); n != "1" {
			t.Fatalf("bob holds %s keys", n)
		}
	})
}

// TestAPIKeyLimit: 25 live keys per user, also when more are asked for at
// once (the user's row lock orders them): the rest 409 api_key_limit.
func TestAPIKeyLimit(t *testing.T) {
	forEachAppOn(t, dbtest.ScaleOut, map[string]string{"auth.max_failed_logins": "100"}, func(t *testing.T, app *testApp) {
		alice := app.loggedIn(t, "alice.user", user.RoleUser)
		createKey(t, alice, "read", 3600)
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range apikey.MaxPerUser + 4 {
			wg.Go(func() {
				r := alice.do(t, "POST", "/api/v1/auth/api-keys", `{"name":"ci","scope":"read","expires_in":3600,"current_password":"`+seedPassword+`"}`)
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
				if r.status == 409 && problemCode(r) != "api_key_limit" {
					t.Errorf("409 %s", r.body)
				}
			})
		}
		wg.Wait()
		if statuses[201] != apikey.MaxPerUser-1 || statuses[409] != 5 {
			t.Fatalf("statuses %v; want %d x 201, 5 x 409", statuses, apikey.MaxPerUser-1)
		}
		if n := app.count(t, "api_keys"); n != apikey.MaxPerUser {
			t.Fatalf("%d keys stored", n)
		}
	})
}

// TestRevokeAPIKeys: a user revokes their own key (404 for anyone
// else's); an admin lists and revokes a lower-ranked user's, one or all,
// also with an admin's key; a revoked key is refused at its next request.
func TestRevokeAPIKeys(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		alice := app.loggedIn(t, "alice.user", user.RoleUser)
		bob := app.loggedIn(t, "bobby.user", user.RoleUser)
		admin := app.loggedIn(t, "ada.admin", user.RoleAdmin)
		app.seed(t, "pat.admin", user.RoleAdmin)
		a1, a2, a3 := createKey(t, alice, "read", 3600), createKey(t, alice, "full", 3600), createKey(t, alice, "full", 3600)
		b1 := createKey(t, bob, "read", 3600)

		expect(t, "alice revokes bob's key", alice.do(t, "DELETE", "/api/v1/auth/api-keys/"+b1.ID, ""), 404, "api_key_not_found")
		expect(t, "a malformed id", alice.do(t, "DELETE", "/api/v1/auth/api-keys/"+a1.Key, ""), 404, "api_key_not_found")
		expect(t, "bob's key still works", app.bearer(t, b1.Key, "GET", "/api/v1/auth/me", ""), 200, "")
		expect(t, "alice revokes hers", alice.do(t, "DELETE", "/api/v1/auth/api-keys/"+a1.ID, ""), 204, "")
		expect(t, "the revoked key", app.bearer(t, a1.Key, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "again", alice.do(t, "DELETE", "/api/v1/auth/api-keys/"+a1.ID, ""), 404, "api_key_not_found")
		if e := last(t, app.eventsOf(t, app.userID(t, "alice.user")), "api_key.revoked"); e.Details["reason"] != "owner" || e.Details["key"] != a1.ID {
			t.Fatalf("api_key.revoked %v", e.Details)
		}

		r := admin.do(t, "GET", "/api/v1/users/api-keys?username=alice.user", "")
		expect(t, "the admin lists alice's", r, 200, "")
		var l struct {
			APIKeys []struct{ ID string } `json:"api_keys"`
		}
		json.Unmarshal(r.body, &l)
		var ids []string
		for _, k := range l.APIKeys {
			ids = append(ids, k.ID)
		}
		if len(ids) != 2 || !slices.Contains(ids, a2.ID) || !slices.Contains(ids, a3.ID) {
			t.Fatalf("the admin's list %s", r.body)
		}
		expect(t, "a peer's", admin.do(t, "GET", "/api/v1/users/api-keys?username=pat.admin", ""), 403, "forbidden")
		expect(t, "a user lists", alice.do(t, "GET", "/api/v1/users/api-keys?username=bobby.user", ""), 403, "forbidden")
		expect(t, "bob's key through alice", admin.do(t, "DELETE", "/api/v1/users/api-keys", `{"username":"alice.user","id":"`+b1.ID+`"}`), 404, "api_key_not_found")
		r = admin.do(t, "DELETE", "/api/v1/users/api-keys", `{"username":"alice.user","id":"`+a2.ID+`"}`)
		expect(t, "the admin revokes one", r, 200, "")
		if r.json(t)["revoked"] != 1.0 {
			t.Fatalf("revoked %s", r.body)
		}
		expect(t, "the key revoked by the admin", app.bearer(t, a2.Key, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		expect(t, "the other still works", app.bearer(t, a3.Key, "GET", "/api/v1/auth/me", ""), 200, "")

		// With the admin's key, every key of bob.
		adminKey := createKey(t, admin, "full", 3600)
		r = app.bearer(t, adminKey.Key, "DELETE", "/api/v1/users/api-keys", `{"username":"bobby.user"}`)
		expect(t, "the admin's key revokes bob's", r, 200, "")
		if r.json(t)["revoked"] != 1.0 {
			t.Fatalf("revoked %s", r.body)
		}
		e := last(t, app.eventsOf(t, app.userID(t, "bobby.user")), "api_key.revoked")
		if e.Details["reason"] != "admin" || e.Details["revoked"] != 1.0 || e.Details["api_key"] != adminKey.ID {
			t.Fatalf("api_key.revoked %v", e.Details)
		}
		expect(t, "bob's key", app.bearer(t, b1.Key, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
		if r := admin.do(t, "DELETE", "/api/v1/users/api-keys", `{"username":"bobby.user"}`); r.status != 200 || r.json(t)["revoked"] != 0.0 {
			t.Fatalf("again: %d %s", r.status, r.body)
		}
	})
}

// TestAPIKeysDieWithTheirCredentials: a user's keys are revoked for good
// (reactivation revives none) by their inactivation, an admin's password
// set, an MFA reset, a recovery by mail, and go with the account.
func TestAPIKeysDieWithTheirCredentials(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		admin := app.loggedIn(t, "ada.admin", user.RoleAdmin)
		for _, c := range []struct {
			reason string
			end    func(t *testing.T, name string, c *client)
		}{
			{"inactivation", func(t *testing.T, name string, _ *client) {
				expect(t, "inactivate", admin.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody(name)), 200, "")
				expect(t, "reactivate", admin.do(t, "PATCH", "/api/v1/users/reactivate", usernameBody(name)), 200, "")
			}},
			{"password_set", func(t *testing.T, name string, _ *client) {
				expect(t, "set the password", admin.do(t, "PATCH", "/api/v1/users/password", `{"username":"`+name+`","password":"another password"}`), 204, "")
			}},
			{"mfa_reset", func(t *testing.T, name string, _ *client) {
				expect(t, "reset the factors", admin.do(t, "PATCH", "/api/v1/users/reset-mfa", usernameBody(name)), 200, "")
			}},
			{"recovery", func(t *testing.T, name string, _ *client) {
				address := name + "@example.com"
				app.verify(t, name, address)
				expect(t, "recovery", app.client().do(t, "POST", "/api/v1/auth/recovery", `{"email":"`+address+`"}`), 202, "")
				token := app.recoveryToken(t, address, 1)
				expect(t, "confirm", app.client().do(t, "POST", "/api/v1/auth/recovery/confirm", `{"token":"`+token+`","new_password":"a new password"}`), 204, "")
			}},
			{"", func(t *testing.T, _ string, c *client) {
				expect(t, "delete the account", c.do(t, "DELETE", "/api/v1/auth/account", `{"current_password":"`+seedPassword+`"}`), 204, "")
			}},
		} {
			name := "u." + strings.ReplaceAll(c.reason, "_", ".") + "x"
			u := app.seed(t, name, user.RoleUser)
			s := app.client()
			expect(t, "login", s.login(t, name, seedPassword), 200, "")
			keys := []createdKey{createKey(t, s, "read", 3600), createKey(t, s, "full", 3600)}
			other := app.apiKey(t, "ada.admin", apikey.ScopeRead, time.Hour)
			c.end(t, name, s)
			for _, k := range keys {
				expect(t, c.reason+": the key", app.bearer(t, k.Key, "GET", "/api/v1/auth/me", ""), 401, "not_authenticated")
			}
			expect(t, c.reason+": another user's key", app.bearer(t, other, "GET", "/api/v1/auth/me", ""), 200, "")
			if n := app.dumpColumn(t, `SELECT count(*) FROM api_keys WHERE user_id = '`+u.ID.String()+`'`); n != "0" {
				t.Fatalf("%s: %s keys left", c.reason, n)
			}
			if c.reason == "" {
				continue // deleted with the account: its events' target is gone
			}
			e := last(t, app.eventsOf(t, u.ID), "api_key.revoked")
			if e.Details["reason"] != c.reason || e.Details["revoked"] != 2.0 {
				t.Fatalf("%s: api_key.revoked %v", c.reason, e.Details)
			}
		}
	})
}

// waitForLockWaiters waits until n connections of app's PostgreSQL
// database wait for a lock.
func waitForLockWaiters(t *testing.T, app *testApp, n int) {
	t.Helper()
	for range 500 {
		var got int
		if err := app.store.DB().QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d lock waiters", n)
}

// TestNoKeyFromAnEndedSession: a key's creation authenticated before an
// admin's MFA reset and reaching its transaction after it (it waits for
// the user's row lock the reset holds) is refused: the reset ended the
// session, and a re-authenticated change checks the session under the
// lock (auth's Change). Otherwise the key would outlive the reset that
// must end every key.
func TestNoKeyFromAnEndedSession(t *testing.T) {
	forEachAppOn(t, []string{"postgres"}, nil, func(t *testing.T, app *testApp) {
		admin := app.loggedIn(t, "ada.admin", user.RoleAdmin)
		e := app.enroll(t, "alice", user.RoleUser)
		// Hold alice's row so that both requests queue behind it: the
		// reset first, then the creation.
		tx, err := app.store.DB().Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`SELECT 1 FROM users WHERE username = 'alice' FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
		reset := make(chan response, 1)
		go func() { reset <- admin.do(t, "PATCH", "/api/v1/users/reset-mfa", usernameBody("alice")) }()
		waitForLockWaiters(t, app, 1)
		created := make(chan response, 1)
		go func() {
			created <- e.client.do(t, "POST", "/api/v1/auth/api-keys",
				`{"name":"ci","scope":"full","expires_in":3600,"current_password":"`+seedPassword+`"}`)
		}()
		waitForLockWaiters(t, app, 2)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		expect(t, "reset", <-reset, 200, "")
		expect(t, "a key from the session the reset ended", <-created, 401, "not_authenticated")
		if rows := app.dump(t, "api_keys"); len(rows) != 0 {
			t.Fatalf("keys stored: %v", rows)
		}
	})
}
