package passkeylogin

import (
	"encoding/json"
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

// Begin answers POST /api/v1/auth/passkey/begin: the request options.
func (h *Handler) Begin(c *echo.Context) error {
	ctx := c.Request().Context()
	opts, err := h.interactor.Begin(ctx, auth.ActorFrom(ctx), c.RealIP())
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}

type request struct {
	Credential json.RawMessage `json:"credential"`
}

// Finish answers POST /api/v1/auth/passkey/finish: 200 the user and a
// session cookie.
func (h *Handler) Finish(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	r := c.Request()
	ctx := r.Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Credential: req.Credential, ClientIP: c.RealIP(), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userjson.From(res.User))
}
