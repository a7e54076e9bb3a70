package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/features/changepassword"
	"github.com/cleanslice/cleanslice/features/confirmrecovery"
	"github.com/cleanslice/cleanslice/features/login"
	"github.com/cleanslice/cleanslice/features/setuserpassword"
	"github.com/cleanslice/cleanslice/platform/dbtest"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/session"
	"github.com/cleanslice/cleanslice/shared/user"
)

// parkedHasher is the real hasher, except that each verification, once
// done, waits for the test to let it go on: the window between a password
// check and the transaction it allows, held open as long as the test needs.
type parkedHasher struct {
	*password.Hasher
	verified chan struct{}
	resume   chan struct{}
}

func newParkedHasher(h *password.Hasher) parkedHasher {
	return parkedHasher{Hasher: h, verified: make(chan struct{}), resume: make(chan struct{})}
}

func (h parkedHasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	ok, err := h.Hasher.Verify(ctx, encoded, pw)
	h.verified <- struct{}{}
	<-h.resume
	return ok, err
}

// racing runs call in the background, and reset once call has verified
// its password and before it goes on; it returns call's error.
func racing(t *testing.T, h parkedHasher, call func() error, reset func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case <-h.verified:
	case err := <-done:
		t.Fatalf("the call ended before its verification: %v", err)
	}
	reset()
	close(h.resume)
	return <-done
}

// TestPasswordResetWinsOverARacingLogin: an admin resets a password while
// a login with the old one is between its verification and its
// transaction. The login gets 401 and no session, and its rehash (for a
// hash made with old parameters) never writes the old password over the
// new one nor moves updated_at back; the new password works, the old one
// does not. The same race against a password change: the change loses.
func TestPasswordResetWinsOverARacingLogin(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		root := auth.Actor{User: app.seed(t, "root.admin", user.RoleSuperAdmin), SessionID: []byte{1}}
		hasher := newHasher(app.cfg.Password, nil, nil, nil)
		older := app.cfg.Password
		older.Argon2MemoryKiB, older.Argon2Iterations = 32, 2 // a hash due for a rehash
		reset := setuserpassword.New(app.store, hasher, mailer.NewOutbox(app.store, templates(t), app.clock.Now), 8, app.clock.Now)
		policy := session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}

		for k, made := range map[string]*password.Hasher{"current.hash": hasher, "old.params": newHasher(older, nil, nil, nil)} {
			hash, err := made.Hash(ctx, seedPassword)
			if err != nil {
				t.Fatal(err)
			}
			victim := user.New(k, hash, user.RoleUser, app.clock.Now())
			if err := app.store.InsertUser(ctx, victim); err != nil {
				t.Fatal(err)
			}
			parked := newParkedHasher(hasher)
			li := login.New(app.store, app.store, app.store, app.store, parked, metrics.New(), policy, passwordGuard(app.cfg), login.Limits{SessionsPerUser: 50, PendingTTL: 5 * time.Minute}, app.clock.Now)
			var afterReset user.User
			err = racing(t, parked, func() error {
				_, err := li.Execute(ctx, auth.Actor{}, login.Input{Username: victim.Username, Password: seedPassword, ClientIP: "192.0.2.1"})
				return err
			}, func() {
				app.clock.Advance(time.Second)
				if err := reset.Execute(ctx, root, setuserpassword.Input{Username: victim.Username, Password: "set by the admin"}); err != nil {
					t.Fatal(err)
				}
				afterReset, _ = app.store.UserByID(ctx, victim.ID)
			})
			if !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("%s: the racing login: %v, want invalid_credentials", k, err)
			}
			if n, _ := app.store.SessionCount(ctx, victim.ID); n != 0 {
				t.Fatalf("%s: the racing login left %d sessions", k, n)
			}
			if got, _ := app.store.UserByID(ctx, victim.ID); got.PasswordHash != afterReset.PasswordHash || !got.UpdatedAt.Equal(afterReset.UpdatedAt) {
				t.Fatalf("%s: the login changed the reset's user: %+v, after the reset %+v", k, got, afterReset)
			}
			c := app.client()
			expect(t, k+": the old password", c.login(t, victim.Username, seedPassword), 401, "invalid_credentials")
			expect(t, k+": the new password", c.login(t, victim.Username, "set by the admin"), 200, "")
		}

		// A change of one's own password racing with a reset.
		changer := app.seed(t, "the.changer", user.RoleUser)
		parked := newParkedHasher(hasher)
		ch := changepassword.New(app.store, parked, mailer.NewOutbox(app.store, templates(t), app.clock.Now), policy, passwordGuard(app.cfg), 8, app.clock.Now)
		err := racing(t, parked, func() error {
			_, err := ch.Execute(ctx, auth.Actor{User: changer, SessionID: []byte{2}}, changepassword.Input{CurrentPassword: seedPassword, NewPassword: "set by the user", ClientIP: "192.0.2.1"})
			return err
		}, func() {
			if err := reset.Execute(ctx, root, setuserpassword.Input{Username: changer.Username, Password: "set by the admin"}); err != nil {
				t.Fatal(err)
			}
		})
		if !errors.Is(err, auth.ErrWrongPassword) {
			t.Fatalf("the racing change: %v, want wrong_password", err)
		}
		c := app.client()
		expect(t, "the racing change's password", c.login(t, changer.Username, "set by the user"), 401, "invalid_credentials")
		expect(t, "the reset's password", c.login(t, changer.Username, "set by the admin"), 200, "")
		if n, _ := app.store.SessionCount(ctx, changer.ID); n != 1 {
			t.Fatalf("%d sessions of the changer, want the one login's", n)
		}
	})
}

// TestConcurrentWrongPasswordsAreExact: 8 wrong passwords at once for one
// username with auth.max_failed_logins = 3: exactly 3 are verified (401,
// and a login.failed event each), the others get 429, on every deployment
// and through two replicas sharing one PostgreSQL.
func TestConcurrentWrongPasswordsAreExact(t *testing.T) {
	settings := map[string]string{"auth.max_failed_logins": "3"}
	check := func(t *testing.T, apps ...*testApp) {
		apps[0].seed(t, "victim", user.RoleUser)
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				r := apps[i%len(apps)].client().login(t, "victim", fmt.Sprintf("guess %d", i))
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		var verified int
		if err := apps[0].store.DB().QueryRow(`SELECT count(*) FROM audit_events WHERE type = 'login.failed'`).Scan(&verified); err != nil {
			t.Fatal(err)
		}
		if statuses[401] != 3 || statuses[429] != 5 || verified != 3 {
			t.Fatalf("statuses %v and %d wrong passwords verified; want 3 x 401, 5 x 429, 3 verified", statuses, verified)
		}
		expect(t, "the right password in a full window", apps[0].client().login(t, "victim", seedPassword), 429, "too_many_attempts")
	}
	forEachAppOn(t, dbtest.ScaleOut, settings, func(t *testing.T, app *testApp) { check(t, app) })
	t.Run("two replicas", func(t *testing.T) {
		t.Parallel()
		dbURL := dbtest.URL(t, "postgres")
		check(t, newTestAppOn(t, dbURL, settings), newTestAppOn(t, dbURL, settings))
	})
}

// TestCurrentPasswordIsThrottledAndAudited: with a session, wrong current
// passwords count in the login windows and are recorded; once the window
// is full the right one is 429 too, and so is a login.
func TestCurrentPasswordIsThrottledAndAudited(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_failed_logins": "3"}, func(t *testing.T, app *testApp) {
		owner := app.loggedIn(t, "owner", user.RoleUser)
		change := func(current string) response {
			return owner.do(t, "PUT", "/api/v1/auth/password", fmt.Sprintf(`{"current_password":%q,"new_password":"a new password"}`, current))
		}
		for i := range 3 {
			expect(t, fmt.Sprintf("wrong current password %d", i+1), change("guess"), 403, "wrong_password")
		}
		r := change(seedPassword)
		expect(t, "the right current password in a full window", r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		expect(t, "a login in the full window", app.client().login(t, "owner", seedPassword), 429, "too_many_attempts")
		root := app.loggedIn(t, "root.admin", user.RoleSuperAdmin)
		page := auditPageOf(t, root.do(t, "GET", "/api/v1/audit?type=reauthentication.failed", ""))
		if len(page.Events) != 3 {
			t.Fatalf("%d reauthentication.failed events, want 3", len(page.Events))
		}
		for _, e := range page.Events {
			if e.Details["action"] != "change_password" || e.Actor == nil || e.Actor.Username != "owner" || e.Target == nil || e.Target.Username != "owner" {
				t.Fatalf("event %+v", e)
			}
		}
		app.clock.Advance(15 * time.Minute) // the session's idle lifetime too
		expect(t, "a login after the window", owner.login(t, "owner", seedPassword), 200, "")
		expect(t, "a change after the window", change(seedPassword), 204, "")
	})
}

// TestSignupThrottle: a client's signups past auth.max_signups_per_ip in
// auth.signup_window get 429 with Retry-After, taken names included.
func TestSignupThrottle(t *testing.T) {
	forEachApp(t, map[string]string{"auth.max_signups_per_ip": "2"}, func(t *testing.T, app *testApp) {
		c := app.client()
		expect(t, "first signup", c.signup(t, "first.user", "password1"), 201, "")
		expect(t, "a taken name", c.signup(t, "first.user", "password1"), 409, "username_taken")
		r := c.signup(t, "third.user", "password1")
		expect(t, "third signup", r, 429, "too_many_attempts")
		if ra := r.header.Get("Retry-After"); ra != "3600" {
			t.Fatalf("Retry-After %q, want 3600", ra)
		}
		if _, err := app.store.UserByUsername(context.Background(), "third.user"); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("a refused signup made its user: %v", err)
		}
		app.clock.Advance(time.Hour)
		expect(t, "after the window", c.signup(t, "third.user", "password1"), 201, "")
	})
}

// TestTypedNamesAreNotStored: what is typed as a username at login never
// reaches the database in the clear: the windows are keyed by a keyed
// hash, a name longer than any username (here a password typed in the
// wrong field) is counted for the client only, and the old table that kept
// names is empty.
func TestTypedNamesAreNotStored(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		app.seed(t, "alice", user.RoleUser)
		c := app.client()
		expect(t, "a wrong password", c.login(t, "ALICE", "wrong password"), 401, "invalid_credentials")
		expect(t, "a password in the name field", c.login(t, "correct horse battery staple", "x"), 401, "invalid_credentials")
		expect(t, "an unknown name", c.login(t, "nobody.here", "x"), 401, "invalid_credentials")
		rows, err := app.store.DB().Query(`SELECT key, attempts FROM attempt_windows`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		keys := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			keys[k] = n
			for _, typed := range []string{"alice", "horse", "nobody"} {
				if strings.Contains(strings.ToLower(k), typed) {
					t.Errorf("a typed name is stored: %q", k)
				}
			}
		}
		guard := passwordGuard(app.cfg)
		if keys[guard.UserKey("alice")] != 1 || keys[guard.UserKey("nobody.here")] != 1 || keys["ip:127.0.0.1"] != 3 || len(keys) != 3 {
			t.Errorf("windows %v: want alice's and nobody.here's keyed windows with 1 each, and the client's with 3", keys)
		}
	})
}

// TestEmailAddresses: signup and admin creation take an optional address,
// unique ignoring case (409 email_taken) and checked strictly (422 naming
// email); every user object shows it and whether it is verified;
// auth.require_email makes it required.
func TestEmailAddresses(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		c := app.client()
		signup := func(name, email string) response {
			return c.do(t, "POST", "/api/v1/auth/signup", fmt.Sprintf(`{"username":%q,"password":"password1","email":%q}`, name, email))
		}
		r := signup("with.mail", "Alice.Smith@Example.com")
		expect(t, "signup with an address", r, 201, "")
		if u := r.json(t); u["email"] != "Alice.Smith@Example.com" || u["email_verified"] != false {
			t.Fatalf("signup body %s", r.body)
		}
		expect(t, "the same address in another case", signup("other.user", "alice.smith@EXAMPLE.COM"), 409, "email_taken")
		r = signup("other.user", "Alice <alice@example.com>")
		expect(t, "an address with a display name", r, 422, "validation_failed")
		if p := r.json(t); fmt.Sprint(p["errors"]) != "[map[field:email message:"+user.ErrEmailSyntax.Error()+"]]" {
			t.Fatalf("errors %v", p["errors"])
		}
		expect(t, "no address", signup("no.mail", ""), 201, "")
		admin := app.loggedIn(t, "the.admin", user.RoleAdmin)
		r = admin.do(t, "POST", "/api/v1/users", `{"username":"made.user","password":"password1","role":"user","email":"made@example.com"}`)
		expect(t, "admin creation with an address", r, 201, "")
		if u := r.json(t); u["email"] != "made@example.com" {
			t.Fatalf("creation body %s", r.body)
		}
		expect(t, "a taken address at creation", admin.do(t, "POST", "/api/v1/users", `{"username":"made.two","password":"password1","role":"user","email":"MADE@example.com"}`), 409, "email_taken")
		list := admin.do(t, "GET", "/api/v1/users?sort=username&order=asc", "")
		expect(t, "the list", list, 200, "")
		if !strings.Contains(string(list.body), `"email":"made@example.com","email_verified":false`) || !strings.Contains(string(list.body), `"username":"no.mail","email":null`) {
			t.Fatalf("list %s", list.body)
		}
		login := app.client()
		expect(t, "login", login.login(t, "with.mail", "password1"), 200, "")
		if u := login.do(t, "GET", "/api/v1/auth/me", "").json(t); u["email"] != "Alice.Smith@Example.com" {
			t.Fatalf("me %v", u)
		}
	})
	forEachApp(t, map[string]string{"auth.require_email": "true"}, func(t *testing.T, app *testApp) {
		r := app.client().signup(t, "no.mail", "password1")
		expect(t, "signup without an address when one is required", r, 422, "validation_failed")
		if !strings.Contains(string(r.body), `"field":"email","message":"email is required"`) {
			t.Fatalf("body %s", r.body)
		}
	})
}

// templates are the embedded mail templates.
func templates(t testing.TB) *mailer.Templates {
	t.Helper()
	tpl, err := mailer.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestRecoveryWinsOverARacingLogin: a login with the old password parked
// between its verification and its transaction while the recovery sets a
// new one: the login gets 401 and no session.
func TestRecoveryWinsOverARacingLogin(t *testing.T) {
	forEachApp(t, nil, func(t *testing.T, app *testApp) {
		ctx := context.Background()
		victim := app.seed(t, "the.victim", user.RoleUser)
		if _, err := app.store.DB().Exec(`UPDATE users SET email = 'victim@example.com', email_verified_at = created_at WHERE id = $1`, victim.ID); err != nil {
			t.Fatal(err)
		}
		secret, tok := onetime.New(victim.ID, onetime.Recovery, "victim@example.com", app.clock.Now(), time.Hour)
		if err := app.store.InsertToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		hasher := newHasher(app.cfg.Password, nil, nil, nil)
		parked := newParkedHasher(hasher)
		li := login.New(app.store, app.store, app.store, app.store, parked, metrics.New(), session.Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}, passwordGuard(app.cfg), login.Limits{SessionsPerUser: 50, PendingTTL: 5 * time.Minute}, app.clock.Now)
		recover := confirmrecovery.New(app.store, hasher, mailer.NewOutbox(app.store, templates(t), app.clock.Now), passwordGuard(app.cfg), 8, app.clock.Now)
		err := racing(t, parked, func() error {
			_, err := li.Execute(ctx, auth.Actor{}, login.Input{Username: victim.Username, Password: seedPassword, ClientIP: "192.0.2.1"})
			return err
		}, func() {
			if err := recover.Execute(ctx, confirmrecovery.Input{Token: secret, NewPassword: "recovered password"}); err != nil {
				t.Fatal(err)
			}
		})
		if !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("the racing login: %v, want invalid_credentials", err)
		}
		if n, _ := app.store.SessionCount(ctx, victim.ID); n != 0 {
			t.Fatalf("the racing login left %d sessions", n)
		}
		expect(t, "the recovered password", app.client().login(t, victim.Username, "recovered password"), 200, "")
	})
}
