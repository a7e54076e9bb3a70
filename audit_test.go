package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/features/grantadmin"
	"github.com/cleanslice/cleanslice/features/login"
	"github.com/cleanslice/cleanslice/features/signup"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/signin"
	"github.com/cleanslice/cleanslice/shared/user"
)

// want is an expected event: type, actor and target usernames ("" for
// nobody) and details.reason.
type want struct{ typ, actor, target, reason string }

func (e auditEvent) matches(w want) bool {
	name := func(p *auditParty) string {
		if p == nil {
			return ""
		}
		return p.Username
	}
	reason, _ := e.Details["reason"].(string)
	return e.Type == w.typ && name(e.Actor) == w.actor && name(e.Target) == w.target && reason == w.reason
}

// walk pages through path (a query string included) by cursor, limit at a
// time, and returns every event.
func walk(t *testing.T, c *client, path string, limit int) []auditEvent {
	t.Helper()
	var all []auditEvent
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
	for range 1000 {
		r := c.do(t, "GET", next, "")
		expect(t, "page "+next, r, 200, "")
		p := auditPageOf(t, r)
		if len(p.Events) > limit {
			t.Fatalf("%d events on a page of %d", len(p.Events), limit)
		}
		all = append(all, p.Events...)
		if p.NextCursor == nil {
			return all
		}
		next = fmt.Sprintf("%s%slimit=%d&cursor=%s", path, sep, limit, url.QueryEscape(*p.NextCursor))
	}
	t.Fatal("the walk does not end")
	return nil
}

// TestAuditTrail drives every recording scenario over HTTP on both engines
// and reads the trail back: each change has its event (actor, target,
// reason, client), no-ops, refusals and 429s have none, an unknown username
// is nowhere, every event is a log line and a metric, each user sees their
// own events without the actor, and the filters and cursors behave.
func TestAuditTrail(t *testing.T) {
	// Through a trusted proxy (the test client is 127.0.0.1), so that the
	// client's X-Request-ID is taken.
	forEachApp(t, map[string]string{"auth.max_failed_logins": "3", "http.trusted_proxies": "127.0.0.1"}, func(t *testing.T, app *testApp) {
		var expected []want
		step := func(w ...want) {
			expected = append(expected, w...)
			app.clock.Advance(time.Millisecond) // one instant per step: the order is known
		}
		login := func(name, password string, status int) *client {
			t.Helper()
			c := app.client()
			expect(t, "login "+name, c.login(t, name, password), status, "")
			return c
		}
		const alice, root, bob = "alice.user", "root.admin", "bobby.admin"

		app.seed(t, root, user.RoleSuperAdmin) // as the CLI's users create would, without the CLI
		rootC := login(root, seedPassword, 200)
		step(want{"login.succeeded", root, root, ""})
		signedUp := app.client().signup(t, alice, seedPassword)
		expect(t, "signup", signedUp, 201, "")
		aliceID := uuid.FromStringOrNil(signedUp.json(t)["id"].(string))
		step(want{"user.signed_up", "", alice, ""})
		aliceC := login(alice, seedPassword, 200)
		step(want{"login.succeeded", alice, alice, ""})
		login(alice, "wrong password", 401)
		step(want{"login.failed", "", alice, "wrong_password"})
		login("mallory.x", seedPassword, 401)
		step(want{"login.failed", "", "", "unknown_user"})
		expect(t, "create admin", rootC.do(t, "POST", "/api/v1/users", fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-2","role":"admin"}`, bob)), 201, "")
		step(want{"user.created", root, bob, ""})
		grant := rootC.do(t, "PATCH", "/api/v1/users/grant", usernameBody(alice), "User-Agent", "AuditTest/1.0\t", "X-Request-ID", "grant-1")
		expect(t, "grant", grant, 200, "")
		step(want{"user.granted_admin", root, alice, ""})
		expect(t, "grant again (no-op)", rootC.do(t, "PATCH", "/api/v1/users/grant", usernameBody(alice)), 200, "")
		expect(t, "revoke", rootC.do(t, "PATCH", "/api/v1/users/revoke", usernameBody(alice)), 200, "")
		step(want{"user.revoked_admin", root, alice, ""})
		expect(t, "revoke again (no-op)", rootC.do(t, "PATCH", "/api/v1/users/revoke", usernameBody(alice)), 200, "")
		expect(t, "refused grant", aliceC.do(t, "PATCH", "/api/v1/users/grant", usernameBody(bob)), 403, "forbidden")
		expect(t, "refused input", rootC.do(t, "PATCH", "/api/v1/users/inactivate", `{"username":"-x"}`), 422, "validation_failed")
		expect(t, "change password", aliceC.do(t, "PUT", "/api/v1/auth/password", `{"current_password":"quiet-lamp-1","new_password":"quiet-lamp-3"}`), 204, "")
		step(want{"user.password_changed", alice, alice, ""}, want{"session.ended", alice, alice, "password"})
		login(alice, "quiet-lamp-3", 200)
		login(alice, "quiet-lamp-3", 200)
		step(want{"login.succeeded", alice, alice, ""}, want{"login.succeeded", alice, alice, ""})
		expect(t, "end others", aliceC.do(t, "DELETE", "/api/v1/auth/sessions", ""), 204, "")
		step(want{"session.ended", alice, alice, "others"})
		login(alice, "quiet-lamp-3", 200)
		step(want{"login.succeeded", alice, alice, ""})
		other := ""
		for _, s := range sessionsOf(t, aliceC.do(t, "GET", "/api/v1/auth/sessions", "")).Sessions {
			if !*s.Current {
				other = *s.ID
			}
		}
		expect(t, "end one", aliceC.do(t, "DELETE", "/api/v1/auth/sessions/"+other, ""), 204, "")
		step(want{"session.ended", alice, alice, "self"})
		expect(t, "end it again", aliceC.do(t, "DELETE", "/api/v1/auth/sessions/"+other, ""), 404, "session_not_found")
		expect(t, "set password", rootC.do(t, "PATCH", "/api/v1/users/password", fmt.Sprintf(`{"username":%q,"password":"quiet-lamp-4"}`, alice)), 204, "")
		step(want{"user.password_set", root, alice, ""}, want{"session.ended", root, alice, "password"})
		login(alice, "quiet-lamp-4", 200)
		step(want{"login.succeeded", alice, alice, ""})
		expect(t, "end user sessions", rootC.do(t, "DELETE", "/api/v1/users/sessions", usernameBody(alice)), 200, "")
		step(want{"session.ended", root, alice, "admin"})
		expect(t, "end none", rootC.do(t, "DELETE", "/api/v1/users/sessions", usernameBody(alice)), 200, "")
		leaving := login(alice, "quiet-lamp-4", 200)
		step(want{"login.succeeded", alice, alice, ""})
		expect(t, "logout", leaving.do(t, "DELETE", "/api/v1/auth/logout", ""), 204, "")
		step(want{"session.ended", alice, alice, "logout"})
		login(alice, "quiet-lamp-4", 200)
		step(want{"login.succeeded", alice, alice, ""})
		expect(t, "inactivate", rootC.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody(alice)), 200, "")
		step(want{"user.inactivated", root, alice, ""}, want{"session.ended", root, alice, "inactivation"})
		expect(t, "inactivate again (no-op)", rootC.do(t, "PATCH", "/api/v1/users/inactivate", usernameBody(alice)), 200, "")
		login(alice, "quiet-lamp-4", 403)
		step(want{"login.failed", "", alice, "account_inactive"})
		expect(t, "reactivate", rootC.do(t, "PATCH", "/api/v1/users/reactivate", usernameBody(alice)), 200, "")
		step(want{"user.reactivated", root, alice, ""})
		for range 3 {
			login(bob, "wrong password", 401)
			step(want{"login.failed", "", bob, "wrong_password"})
		}
		login(bob, "quiet-lamp-2", 429) // throttled: counted by the metrics, not recorded
		// A session that inactivation did not end (alice was made inactive
		// by a direct database change) ends at its next request, by nobody,
		// with that request's client.
		leftover := login(alice, "quiet-lamp-4", 200)
		step(want{"login.succeeded", alice, alice, ""})
		if err := app.store.SetUserActive(context.Background(), aliceID, false, app.clock.Now()); err != nil {
			t.Fatal(err)
		}
		expect(t, "a leftover session", leftover.do(t, "GET", "/api/v1/auth/me", "", "X-Request-ID", "leftover-1"), 401, "not_authenticated")
		step(want{"session.ended", "", alice, "inactivation"})
		if err := app.store.SetUserActive(context.Background(), aliceID, true, app.clock.Now()); err != nil {
			t.Fatal(err)
		}

		trail := walk(t, rootC, "/api/v1/audit", 100)
		slices.Reverse(trail)
		if len(trail) != len(expected) {
			for _, e := range trail {
				t.Logf("%s %v %v %v", e.Type, e.Actor, e.Target, e.Details)
			}
			t.Fatalf("%d events, want %d", len(trail), len(expected))
		}
		for i, w := range expected {
			if !trail[i].matches(w) {
				t.Errorf("event %d: %s by %v on %v (%v), want %+v", i, trail[i].Type, trail[i].Actor, trail[i].Target, trail[i].Details, w)
			}
			if e := trail[i]; e.IP != "127.0.0.1" || e.RequestID == "" || e.Actor != nil && e.Actor.ID == "" {
				t.Errorf("event %d: client %q %q, actor %+v", i, e.IP, e.RequestID, e.Actor)
			}
		}
		var granted auditEvent
		for _, e := range trail {
			if e.Type == "user.granted_admin" {
				granted = e
			}
			if n, ok := e.Details["ended"].(float64); e.Type == "session.ended" && (!ok || n < 1) {
				t.Errorf("session.ended without a count: %v", e.Details)
			}
		}
		if e := trail[len(trail)-1]; e.RequestID != "leftover-1" || e.Actor != nil {
			t.Errorf("the leftover session's end: request id %q, actor %+v", e.RequestID, e.Actor)
		}
		if granted.RequestID != "grant-1" || granted.RequestID != grant.header.Get("X-Request-Id") || granted.UserAgent != "AuditTest/1.0" {
			t.Errorf("the grant's event has request id %q and user agent %q", granted.RequestID, granted.UserAgent)
		}
		body := string(rootC.do(t, "GET", "/api/v1/audit?limit=100", "").body)
		if strings.Contains(strings.ToLower(body), "mallory") {
			t.Error("an unknown username was stored in the trail")
		}

		// Every event is one log line, written after commit, and a metric.
		lines := strings.Split(app.logLines(`"msg":"audit"`), "\n")
		if len(lines) != len(expected) || !strings.Contains(app.logLines(`"type":"user.granted_admin"`), `"request_id":"grant-1"`) {
			t.Errorf("%d audit log lines, want %d; the grant's: %s", len(lines), len(expected), app.logLines(`"type":"user.granted_admin"`))
		}
		metrics := string(app.client().do(t, "GET", "/metrics", "").body)
		for _, m := range []string{`cleanslice_audit_events_total{type="user.granted_admin"} 1`, `cleanslice_audit_events_total{type="login.failed"} 6`,
			`cleanslice_sessions_ended_total{reason="others"} 2`} {
			if !strings.Contains(metrics, m) {
				t.Errorf("metrics lack %s", m)
			}
		}

		// The user's own activity: their events, newest first, without the actor.
		aliceC = login(alice, "quiet-lamp-4", 200)
		activity := walk(t, aliceC, "/api/v1/auth/activity", 4)
		mine := walk(t, rootC, "/api/v1/audit?target="+alice, 100)
		if len(activity) != len(mine) || len(mine) < 20 {
			t.Fatalf("alice's activity has %d events, the trail %d for her", len(activity), len(mine))
		}
		byOthers := 0
		for i := range mine {
			if activity[i].ID != mine[i].ID || activity[i].actorKnown || activity[i].Target != nil {
				t.Fatalf("activity %d: %+v, want %s without actor or target", i, activity[i].raw, mine[i].ID)
			}
			// The client of an event is shown only where alice acted: never
			// the address, browser or request of an admin (or anyone else).
			_, ip := activity[i].raw["ip"]
			_, ua := activity[i].raw["user_agent"]
			_, rid := activity[i].raw["request_id"]
			ownEvent := mine[i].Actor != nil && mine[i].Actor.Username == alice
			if ownEvent != (ip && ua && rid) || ip != ua || ua != rid {
				t.Fatalf("activity %d (%s by %+v): ip %v, user_agent %v, request_id %v", i, mine[i].Type, mine[i].Actor, ip, ua, rid)
			}
			if !ownEvent {
				byOthers++
			}
		}
		if byOthers == 0 {
			t.Fatal("alice's activity has no event caused by someone else: the check above checked nothing")
		}

		// Filters.
		failed := walk(t, rootC, "/api/v1/audit?type=login.failed", 2)
		byRoot := walk(t, rootC, "/api/v1/audit?actor=ROOT.ADMIN", 5)
		ended := walk(t, rootC, "/api/v1/audit?type=session.ended,user.inactivated&target="+alice, 3)
		count := func(keep func(w want) bool) int {
			n := 0
			for _, w := range expected {
				if keep(w) {
					n++
				}
			}
			return n
		}
		if len(failed) != 6 || len(byRoot) != count(func(w want) bool { return w.actor == root }) ||
			len(ended) != count(func(w want) bool {
				return w.target == alice && (w.typ == "session.ended" || w.typ == "user.inactivated")
			}) {
			t.Errorf("filtered: %d failed logins, %d by root, %d ended/inactivated of alice", len(failed), len(byRoot), len(ended))
		}
		first, last := trail[0].OccurredAt, trail[len(trail)-1].OccurredAt
		window := walk(t, rootC, "/api/v1/audit?since="+url.QueryEscape(first.Add(time.Millisecond).Format(time.RFC3339Nano))+"&until="+url.QueryEscape(last.Format(time.RFC3339Nano)), 10)
		if len(window) == 0 || window[0].OccurredAt.Compare(last) >= 0 || window[len(window)-1].OccurredAt.Before(first.Add(time.Millisecond)) {
			t.Errorf("since/until: %d events", len(window))
		}
		expect(t, "unknown target", rootC.do(t, "GET", "/api/v1/audit?target=nobody.here", ""), 200, "")
		if p := auditPageOf(t, rootC.do(t, "GET", "/api/v1/audit?target=nobody.here", "")); len(p.Events) != 0 || p.NextCursor != nil {
			t.Errorf("an unknown target gave %d events", len(p.Events))
		}
		for q, fields := range map[string]string{
			"type=login.failed,user.bogus":                          "type",
			"since=yesterday":                                       "since",
			"since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z": "since",
			"limit=0":                "limit",
			"limit=101&page=2":       "limit,page",
			"cursor=AAAA":            "cursor",
			"until=2026-13-01T00:00": "until",
		} {
			r := rootC.do(t, "GET", "/api/v1/audit?"+q, "")
			expect(t, q, r, 422, "validation_failed")
			if got := strings.Join(problemFields(t, r), ","); got != fields {
				t.Errorf("%s: fields %s, want %s", q, got, fields)
			}
			if strings.Contains(q, "bogus") && !strings.Contains(string(r.body), "user.bogus") {
				t.Errorf("the unknown type is not named: %s", r.body)
			}
		}
		// A cursor is bound to its filters.
		p := auditPageOf(t, rootC.do(t, "GET", "/api/v1/audit?type=login.failed&limit=2", ""))
		cur := url.QueryEscape(*p.NextCursor)
		expect(t, "cursor with other filters", rootC.do(t, "GET", "/api/v1/audit?type=login.succeeded&cursor="+cur, ""), 422, "validation_failed")
		alone := auditPageOf(t, rootC.do(t, "GET", "/api/v1/audit?limit=2&cursor="+cur, ""))
		same := auditPageOf(t, rootC.do(t, "GET", "/api/v1/audit?type=login.failed&limit=2&cursor="+cur, ""))
		if len(alone.Events) != 2 || alone.Events[0].ID != failed[2].ID || same.Events[0].ID != failed[2].ID {
			t.Errorf("a cursor alone or with its filters does not continue them")
		}
		targeted := auditPageOf(t, rootC.do(t, "GET", "/api/v1/audit?target="+alice+"&limit=1", ""))
		expect(t, "a trail cursor on the activity page", aliceC.do(t, "GET", "/api/v1/auth/activity?cursor="+url.QueryEscape(*targeted.NextCursor), ""), 422, "validation_failed")
		expect(t, "actor on the activity page", aliceC.do(t, "GET", "/api/v1/auth/activity?actor="+root, ""), 422, "validation_failed")

		// Who may read the trail.
		expect(t, "a user reads the trail", aliceC.do(t, "GET", "/api/v1/audit", ""), 403, "forbidden")
		carol := app.loggedIn(t, "carol.admin", user.RoleAdmin)
		expect(t, "an admin reads the trail", carol.do(t, "GET", "/api/v1/audit", ""), 403, "forbidden")
		expect(t, "anonymous trail", app.client().do(t, "GET", "/api/v1/audit", ""), 401, "not_authenticated")
		expect(t, "anonymous activity", app.client().do(t, "GET", "/api/v1/auth/activity", ""), 401, "not_authenticated")
	})
}

// failAfterRecord is the real store, except that each event it records is
// written and then the transaction is failed: the fault between an event
// and its commit.
type failAfterRecord struct{ *sqlstore.Store }

var errInjected = errors.New("injected after the event was written, before commit")

func (f failAfterRecord) RecordEvent(ctx context.Context, e audit.Event) error {
	if err := f.Store.RecordEvent(ctx, e); err != nil {
		return err
	}
	return errInjected
}

// TestAuditEventAndChangeAreAtomic runs real interactors on real databases
// with a failure injected after their event is written: neither the change
// nor the event is there, and no log line announces it.
func TestAuditEventAndChangeAreAtomic(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		failing := failAfterRecord{app.store}
		hasher := newHasher(app.cfg.Password, nil, nil, nil)
		rootU := app.seed(t, "root.admin", user.RoleSuperAdmin)
		target := app.seed(t, "target.user", user.RoleUser)
		root := auth.Actor{User: rootU, SessionID: []byte{1}}

		_, err := signup.New(failing, hasher, nil, onetime.Verifications{}, signup.Limit{}, user.AccountRules{MinPasswordLen: 8}, app.clock.Now).Execute(ctx, auth.Actor{}, signup.Input{Username: "new.user", Password: seedPassword})
		if !errors.Is(err, errInjected) {
			t.Fatalf("signup: %v", err)
		}
		if _, err := app.store.UserByUsername(ctx, "new.user"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("the signup's user is there: %v", err)
		}
		if _, err := grantadmin.New(failing, app.clock.Now).Execute(ctx, root, grantadmin.Input{Username: target.Username}); !errors.Is(err, errInjected) {
			t.Fatalf("grant: %v", err)
		}
		if u, _ := app.store.UserByID(ctx, target.ID); u.Role != user.RoleUser || !u.UpdatedAt.Equal(target.UpdatedAt) {
			t.Errorf("the grant's change is there: %+v", u)
		}
		guard := passwordGuard(app.cfg)
		li := login.New(failing, hasher, metrics.New(), login.Config{SignIn: signin.Rules{Policy: session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}, SessionsPerUser: 5}, Guard: guard, PendingTTL: 5 * time.Minute}, app.clock.Now)
		if _, err := li.Execute(ctx, auth.Actor{}, login.Input{Username: target.Username, Password: seedPassword}); !errors.Is(err, errInjected) {
			t.Fatalf("login: %v", err)
		}
		if n := app.count(t, "sessions"); n != 0 {
			t.Errorf("the login's session is there (%d sessions)", n)
		}
		if _, err := li.Execute(ctx, auth.Actor{}, login.Input{Username: target.Username, Password: "wrong password"}); !errors.Is(err, errInjected) {
			t.Fatalf("failed login: %v", err)
		}
		// Counted before it was verified, the failed attempt stays counted
		// (the successful one that failed gave its attempt back).
		if n := windowCount(t, app.store, guard.UserKey(target.Username)); n != 1 {
			t.Errorf("the failed login's attempt: %d counted, want 1", n)
		}
		if n := app.count(t, "audit_events"); n != 0 {
			t.Errorf("%d events stored for changes that rolled back", n)
		}
		if l := app.logLines(`"msg":"audit"`); l != "" {
			t.Errorf("rolled-back events were announced: %s", l)
		}
	})
}
