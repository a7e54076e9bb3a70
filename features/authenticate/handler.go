package authenticate

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apikey"
	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Middleware puts the authenticated actor in the request context, where
// handlers read it with auth.ActorFrom. It only authenticates: what an
// actor may do is the interactors' decision, but for what the route says
// of API keys. A route takes a session alone (Required, Enrolling,
// Optional: a key gets 403 session_required, unchecked), or a session or a
// key (RequiredOrKey, EnrollingOrKey: a key of scope read only with a safe
// method). A request with both a session cookie and a key is 400 on every
// authenticated route.
type Middleware struct {
	interactor *Interactor
	cookies    Cookies
	source     func(c *echo.Context) audit.Source
}

// NewMiddleware returns the middleware; source tells the client of a
// request, for the events authenticating records.
func NewMiddleware(i *Interactor, cookies Cookies, source func(c *echo.Context) audit.Source) *Middleware {
	return &Middleware{interactor: i, cookies: cookies, source: source}
}

// Required refuses a request without a valid session: 401
// not_authenticated, or mfa_required for a login whose second step is
// outstanding (its cookie authorizes that step alone). A user whose role
// requires a second factor and who has none gets 403
// mfa_enrollment_required: Required is every authenticated route's
// default, Enrolling the exception.
func (m *Middleware) Required(next echo.HandlerFunc) echo.HandlerFunc {
	return m.require(next, false, false)
}

// Enrolling is Required for the routes a user who must still enroll a
// second factor may use: reading their account and factors, their
// sessions, logging out, and enrolling.
func (m *Middleware) Enrolling(next echo.HandlerFunc) echo.HandlerFunc {
	return m.require(next, true, false)
}

// RequiredOrKey is Required for the routes an API key may use too: its
// user acts, with the role read now; a key of scope read may only use a
// safe method (else 403 forbidden).
func (m *Middleware) RequiredOrKey(next echo.HandlerFunc) echo.HandlerFunc {
	return m.require(next, false, true)
}

// EnrollingOrKey is Enrolling for the routes an API key may use too.
func (m *Middleware) EnrollingOrKey(next echo.HandlerFunc) echo.HandlerFunc {
	return m.require(next, true, true)
}

func (m *Middleware) require(next echo.HandlerFunc, enrolling, keys bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if key, ok := bearer(c.Request()); ok {
			if !keys {
				return m.sessionRequired(c)
			}
			return m.withKey(c, next, key, enrolling)
		}
		res, ok, err := m.authenticate(c)
		switch {
		case errors.Is(err, errPending):
			return auth.ErrMFARequired
		case err != nil:
			return err
		case !ok:
			return auth.ErrNotAuthenticated
		case res.MustEnroll && !enrolling:
			return ErrEnrollmentRequired
		}
		return next(c)
	}
}

// Optional lets an anonymous request through as the anonymous actor, so
// that signup and login can refuse callers who are already logged in. A
// pending login is anonymous here: it may start over.
func (m *Middleware) Optional(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if _, ok := bearer(c.Request()); ok {
			return m.sessionRequired(c)
		}
		if _, _, err := m.authenticate(c); err != nil && !errors.Is(err, errPending) {
			return err
		}
		return next(c)
	}
}

// withKey serves a request made with an API key: 400 with a session
// cookie too; else the key's user acts, within the key's scope.
func (m *Middleware) withKey(c *echo.Context, next echo.HandlerFunc, key string, enrolling bool) error {
	if m.hasCookie(c.Request()) {
		return apikey.ErrBothCredentials
	}
	r := c.Request()
	res, err := m.interactor.ExecuteKey(r.Context(), key, c.RealIP(), func() audit.Source { return m.source(c) })
	switch {
	case err != nil:
		return err
	case res.MustEnroll && !enrolling:
		return ErrEnrollmentRequired
	case !res.Scope.Allows(r.Method):
		return apikey.ErrReadOnly
	}
	ctx := audit.WithAPIKey(auth.WithActor(r.Context(), res.Actor), res.Actor.APIKey)
	c.SetRequest(r.WithContext(ctx))
	return next(c)
}

// sessionRequired refuses a key on a session's route, before any lookup:
// nothing is learnt of the key there (400 with a session cookie too).
func (m *Middleware) sessionRequired(c *echo.Context) error {
	if m.hasCookie(c.Request()) {
		return apikey.ErrBothCredentials
	}
	return auth.ErrSessionRequired
}

// hasCookie reports whether r carries a session cookie, valid or not.
func (m *Middleware) hasCookie(r *http.Request) bool {
	_, _, err := m.cookies.Read(r)
	return err == nil || !m.cookies.Absent(err)
}

// bearer returns the credential of an Authorization header of the Bearer
// scheme (RFC 6750; the scheme's name in any case), and whether there is
// one. Other schemes (a proxy's Basic authentication) are not ours.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, credential, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(credential), true
}

// errPending: the cookie is a pending login's.
var errPending = errors.New("a pending login")

// authenticate reports whether the request has a valid session and, if it
// has, returns what authenticating found, puts its actor in the request
// context and re-issues the cookie when the session was renewed or the
// cookie was signed with a previous secret (the session row is the same;
// only the signature moves to the current secret). A cookie that no longer
// works is cleared.
func (m *Middleware) authenticate(c *echo.Context) (Result, bool, error) {
	r, w := c.Request(), c.Response()
	secret, resign, err := m.cookies.Read(r)
	if err != nil {
		if !m.cookies.Absent(err) {
			m.cookies.Clear(w) // a cookie that is not ours, or expired
		}
		return Result{}, false, nil
	}
	if session.IsPending(secret) {
		return Result{}, false, errPending
	}
	res, err := m.interactor.Execute(r.Context(), secret, func() audit.Source { return m.source(c) })
	if errors.Is(err, auth.ErrNotAuthenticated) {
		m.cookies.Clear(w)
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	if res.Renewed || resign {
		if err := m.cookies.Write(w, secret, res.Now, res.ExpiresAt); err != nil {
			return Result{}, false, err
		}
	}
	c.SetRequest(r.WithContext(auth.WithActor(r.Context(), res.Actor)))
	return res, true, nil
}
