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
// outstanding (its cookie authorizes that step alone).
func (m *Middleware) Required(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		ok, err := m.authenticate(c)
		if errors.Is(err, errPending) {
			return auth.ErrMFARequired
		}
		if err != nil {
			return err
		}
		if !ok {
			return auth.ErrNotAuthenticated
		}
		return next(c)
	}
}

// Optional lets an anonymous request through as the anonymous actor, so
// that signup and login can refuse callers who are already logged in. A
// pending login is anonymous here: it may start over.
func (m *Middleware) Optional(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if _, err := m.authenticate(c); err != nil && !errors.Is(err, errPending) {
			return err
		}
		return next(c)
	}
}

// errPending: the cookie is a pending login's.
var errPending = errors.New("a pending login")

// authenticate reports whether the request has a valid session and, if it
// has, puts its actor in the request context and re-issues the cookie when
// the session was renewed or the cookie was signed with a previous secret
// (the session row is the same; only the signature moves to the current
// secret). A cookie that no longer works is cleared.
func (m *Middleware) authenticate(c *echo.Context) (bool, error) {
	r, w := c.Request(), c.Response()
	secret, resign, err := m.cookies.Read(r)
	if err != nil {
		if !m.cookies.Absent(err) {
			m.cookies.Clear(w) // a cookie that is not ours, or expired
		}
		return false, nil
	}
	if session.IsPending(secret) {
		return false, errPending
	}
	res, err := m.interactor.Execute(r.Context(), secret, func() audit.Source { return m.source(c) })
	if errors.Is(err, auth.ErrNotAuthenticated) {
		m.cookies.Clear(w)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if res.Renewed || resign {
		if err := m.cookies.Write(w, secret, res.Now, res.ExpiresAt); err != nil {
			return false, err
		}
	}
	c.SetRequest(r.WithContext(auth.WithActor(r.Context(), res.Actor)))
	return true, nil
}
