package authenticate

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

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
