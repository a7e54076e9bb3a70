package loginmfa

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/userjson"
)

// Handler is the HTTP adapter.
type Handler struct {
	interactor *Interactor
	cookies    Cookies
}

// NewHandler returns the handler.
func NewHandler(i *Interactor, cookies Cookies) *Handler {
	return &Handler{interactor: i, cookies: cookies}
}

type request struct {
	Code         string          `json:"code"`
	RecoveryCode string          `json:"recovery_code"`
	Credential   json.RawMessage `json:"credential"`
}

// Finish answers POST /api/v1/auth/login/mfa (a code or a recovery code)
// and POST /api/v1/auth/login/webauthn/finish (a passkey's credential):
// the session cookie replaces the pending login's.
func (h *Handler) Finish(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	r := c.Request()
	secret, _, _ := h.cookies.Read(r) // none, or not ours: not authenticated
	ctx := r.Context()
	res, err := h.interactor.Finish(ctx, auth.ActorFrom(ctx), Input{Secret: secret, Code: req.Code, RecoveryCode: req.RecoveryCode,
		Credential: req.Credential, ClientIP: c.RealIP(), UserAgent: r.UserAgent()})
	if errors.Is(err, auth.ErrNotAuthenticated) || errors.Is(err, auth.ErrInvalidCredentials) {
		h.cookies.Clear(c.Response()) // the pending login is over
	}
	if err != nil {
		return err
	}
	if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userjson.From(res.User))
}

// Begin answers POST /api/v1/auth/login/webauthn/begin: the options of a
// passkey assertion for the pending login's user.
func (h *Handler) Begin(c *echo.Context) error {
	r := c.Request()
	secret, _, _ := h.cookies.Read(r)
	ctx := r.Context()
	opts, err := h.interactor.Begin(ctx, auth.ActorFrom(ctx), secret, c.RealIP())
	if errors.Is(err, auth.ErrNotAuthenticated) {
		h.cookies.Clear(c.Response())
	}
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}
