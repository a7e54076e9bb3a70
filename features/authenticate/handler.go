package authenticate

import (
	"errors"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/session"
)

// Middleware puts the authenticated actor in the request context, where
// handlers read it with auth.ActorFrom. It only authenticates: what an
// actor may do is the interactors' decision.
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
	return m.require(next, false)
}

// Enrolling is Required for the routes a user who must still enroll a
// second factor may use: reading their account and factors, their
// sessions, logging out, and enrolling.
func (m *Middleware) Enrolling(next echo.HandlerFunc) echo.HandlerFunc {
	return m.require(next, true)
}

func (m *Middleware) require(next echo.HandlerFunc, enrolling bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
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
		if _, _, err := m.authenticate(c); err != nil && !errors.Is(err, errPending) {
			return err
		}
		return next(c)
	}
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
