package logout

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

// Handle answers DELETE /api/v1/auth/logout: 204 and an expired cookie.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	if err := h.interactor.Execute(ctx, auth.ActorFrom(ctx)); err != nil {
		return err
	}
	h.cookies.Clear(c.Response())
	return c.NoContent(http.StatusNoContent)
}
