package changepassword

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
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
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// Handle answers PUT /api/v1/auth/password: 204 and a new session cookie.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{
		CurrentPassword: req.CurrentPassword, NewPassword: req.NewPassword,
		UserAgent: c.Request().UserAgent(), ClientIP: c.RealIP(),
	})
	if err != nil {
		return err
	}
	if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
