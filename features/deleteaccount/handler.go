package deleteaccount

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
}

// Handle answers DELETE /api/v1/auth/account: 204 and the cookie expired.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()}); err != nil {
		return err
	}
	h.cookies.Clear(c.Response())
	return c.NoContent(http.StatusNoContent)
}
