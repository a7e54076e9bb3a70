package endsession

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

// Handle answers DELETE /api/v1/auth/sessions/{id}: 204; the cookie expires
// when the session was the current one.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	current, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{ID: c.Param("id")})
	if err != nil {
		return err
	}
	if current {
		h.cookies.Clear(c.Response())
	}
	return c.NoContent(http.StatusNoContent)
}
