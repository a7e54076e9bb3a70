package unlinkidentity

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type request struct {
	CurrentPassword string `json:"current_password"`
}

// Handle answers DELETE /api/v1/auth/identities/:id: 204. The body may be
// empty for a user without a password.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if c.Request().ContentLength != 0 {
		if err := c.Bind(&req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	if err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{ID: c.Param("id"), CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
