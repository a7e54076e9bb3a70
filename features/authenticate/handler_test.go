package authenticate

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// headerCookies reads the session secret from the Secret header.
type headerCookies struct{}

var errNoCookie = errors.New("no cookie")

func (headerCookies) Read(r *http.Request) (string, bool, error) {
	if s := r.Header.Get("Secret"); s != "" {
		return s, false, nil
	}
	return "", false, errNoCookie
}
func (headerCookies) Absent(err error) bool                                         { return errors.Is(err, errNoCookie) }
func (headerCookies) Write(http.ResponseWriter, string, time.Time, time.Time) error { return nil }
func (headerCookies) Clear(http.ResponseWriter)                                     {}

// TestEnrollingRoutes: a session that must enroll a second factor passes
// Enrolling (and Optional, as an authenticated actor) and gets 403
// mfa_enrollment_required from Required; any other session passes both.
func TestEnrollingRoutes(t *testing.T) {
	serve := func(i *Interactor, secret string) map[string]string {
		m := NewMiddleware(i, headerCookies{}, func(*echo.Context) audit.Source { return audit.Source{} })
		e := echo.New()
		e.HTTPErrorHandler = func(c *echo.Context, err error) {
			code := "?"
			if ae, ok := apperr.As(err); ok {
				code = ae.Code
			}
			c.String(http.StatusTeapot, code)
		}
		who := func(c *echo.Context) error {
			a := auth.ActorFrom(c.Request().Context())
			return c.String(http.StatusOK, "as "+a.User.Username)
		}
		e.GET("/required", who, m.Required)
		e.GET("/enrolling", who, m.Enrolling)
		e.GET("/optional", who, m.Optional)
		got := map[string]string{}
		for _, path := range []string{"/required", "/enrolling", "/optional"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Secret", secret)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got[path] = rec.Body.String()
		}
		return got
	}
	enroll := []user.Role{user.RoleAdmin}
	_, secret, _, i := setupAs(true, user.RoleAdmin, enroll)
	want := map[string]string{"/required": "mfa_enrollment_required", "/enrolling": "as alice", "/optional": "as alice"}
	if got := serve(i, secret); !maps.Equal(got, want) {
		t.Errorf("an admin without a factor: %v, want %v", got, want)
	}
	_, secret, _, i = setupAs(true, user.RoleUser, enroll)
	want = map[string]string{"/required": "as alice", "/enrolling": "as alice", "/optional": "as alice"}
	if got := serve(i, secret); !maps.Equal(got, want) {
		t.Errorf("a user: %v, want %v", got, want)
	}
	want = map[string]string{"/required": "not_authenticated", "/enrolling": "not_authenticated", "/optional": "as "}
	if got := serve(i, ""); !maps.Equal(got, want) {
		t.Errorf("no session: %v, want %v", got, want)
	}
}

// TestKeyRoutes: what each kind of route answers an API key (by scope
// and method), a key and a session cookie together, and an Authorization
// header of another scheme. A session's route refuses a key without
// looking it up.
func TestKeyRoutes(t *testing.T) {
	type answer struct{ method, path, want string }
	serve := func(i *Interactor, header map[string]string, reqs []answer) (got []string) {
		m := NewMiddleware(i, headerCookies{}, func(*echo.Context) audit.Source { return audit.Source{} })
		e := echo.New()
		e.HTTPErrorHandler = func(c *echo.Context, err error) {
			code := "?"
			if ae, ok := apperr.As(err); ok {
				code = ae.Code
			}
			c.String(http.StatusTeapot, code)
		}
		who := func(c *echo.Context) error {
			ctx := c.Request().Context()
			a := auth.ActorFrom(ctx)
			via := "session"
			if a.ViaKey() {
				via = "key"
				if audit.APIKeyFrom(ctx) != a.APIKey {
					via = "key without its audit mark"
				}
			}
			if !a.Authenticated() {
				via = "nobody"
			}
			return c.String(http.StatusOK, via)
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			e.Add(method, "/required", who, m.Required)
			e.Add(method, "/enrolling", who, m.Enrolling)
			e.Add(method, "/optional", who, m.Optional)
			e.Add(method, "/keyed", who, m.RequiredOrKey)
			e.Add(method, "/keyed-enrolling", who, m.EnrollingOrKey)
		}
		for _, r := range reqs {
			req := httptest.NewRequest(r.method, r.path, nil)
			for k, v := range header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got = append(got, r.method+" "+r.path+": "+rec.Body.String())
		}
		return got
	}
	check := func(t *testing.T, name string, i *Interactor, header map[string]string, reqs []answer) {
		t.Helper()
		got := serve(i, header, reqs)
		for n, r := range reqs {
			if want := r.method + " " + r.path + ": " + r.want; got[n] != want {
				t.Errorf("%s: %s, want %s", name, got[n], r.want)
			}
		}
	}
	everywhere := func(get, post string, paths ...string) []answer {
		var out []answer
		for _, p := range paths {
			out = append(out, answer{http.MethodGet, p, get}, answer{http.MethodPost, p, post})
		}
		return out
	}
	sessionRoutes := []string{"/required", "/enrolling", "/optional"}
	keyRoutes := []string{"/keyed", "/keyed-enrolling"}

	f, key, _, i, _ := withKey(true, user.RoleUser, apikey.ScopeRead)
	bearer := map[string]string{"Authorization": "Bearer " + key}
	check(t, "a read key", i, bearer, append(everywhere("session_required", "session_required", sessionRoutes...),
		everywhere("key", "forbidden", keyRoutes...)...))
	if f.keyReads != 4 {
		t.Fatalf("%d key reads: a session's route looked the key up", f.keyReads)
	}
	_, key, _, i, _ = withKey(true, user.RoleUser, apikey.ScopeFull)
	check(t, "a full key, the scheme in lower case", i, map[string]string{"Authorization": "bearer " + key},
		everywhere("key", "key", keyRoutes...))

	// A user who must enroll: their key reaches the enrolling route alone.
	f, _, now, _ := setupAs(true, user.RoleAdmin, nil)
	i = New(f, &hasher{}, Config{Policy: policy, Enroll: []user.Role{user.RoleAdmin}, Guard: guard}, func() time.Time { return *now })
	var alice = func() (id uuid.UUID) {
		for id = range f.users {
		}
		return id
	}()
	k, key := apikey.Issue(i.keys.HashAPIKey, alice, "ci", apikey.ScopeFull, t0, time.Hour)
	f.keys[k.ID] = k
	check(t, "a key of an admin who must enroll", i, map[string]string{"Authorization": "Bearer " + key}, []answer{
		{http.MethodGet, "/keyed", "mfa_enrollment_required"}, {http.MethodGet, "/keyed-enrolling", "key"},
	})

	// A key and a session cookie: 400 wherever credentials count.
	f, secret, _, i := setupAs(true, user.RoleUser, nil)
	check(t, "a key and a cookie", i, map[string]string{"Authorization": "Bearer " + key, "Secret": secret},
		everywhere("ambiguous_credentials", "ambiguous_credentials", append(sessionRoutes, keyRoutes...)...))
	// An unknown key: refused as every bad key is.
	unknown, _, _ := apikey.Generate()
	check(t, "an unknown key", i, map[string]string{"Authorization": "Bearer " + unknown},
		everywhere("not_authenticated", "not_authenticated", "/keyed"))
	check(t, "an empty bearer", i, map[string]string{"Authorization": "Bearer"},
		[]answer{{http.MethodGet, "/keyed", "not_authenticated"}})
	// Another scheme is not ours: the cookie decides.
	check(t, "basic authentication and a cookie", i, map[string]string{"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Secret": secret},
		everywhere("session", "session", append(sessionRoutes, keyRoutes...)...))
	check(t, "basic authentication alone", i, map[string]string{"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
		[]answer{{http.MethodGet, "/keyed", "not_authenticated"}, {http.MethodGet, "/optional", "nobody"}})
	if n := f.Count(guard.ClientLimit("192.0.2.1").Key); n != 3 {
		t.Fatalf("%d refusals counted for the client, want the unknown key's two and the empty one", n)
	}
	check(t, "past the client's window", i, map[string]string{"Authorization": "Bearer " + unknown},
		[]answer{{http.MethodGet, "/keyed", "too_many_attempts"}})
}
