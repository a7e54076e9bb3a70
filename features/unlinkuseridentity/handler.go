package unlinkuseridentity

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
	Username string `json:"username"`
	ID       string `json:"id"`
}

// Handle answers DELETE /api/v1/users/identities: 204.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input(req)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
