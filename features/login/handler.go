package login

import (
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
	Username string `json:"username"`
	Password string `json:"password"`
}

// Handle answers POST /api/v1/auth/login.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Username: req.Username, Password: req.Password, ClientIP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return err
	}
	if p := res.Pending; p != nil {
		// The cookie of a pending login authorizes its second step alone.
		if err := h.cookies.Write(c.Response(), res.Secret, p.CreatedAt, p.ExpiresAt); err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, pendingResponse{MFARequired: true, Methods: res.Methods})
	}
	if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userjson.From(res.User))
}

// pendingResponse answers a right password whose login needs a second
// step: how it may be made.
type pendingResponse struct {
	MFARequired bool     `json:"mfa_required"`
	Methods     []string `json:"methods"`
}
