package revokeapikey

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// Handle answers DELETE /api/v1/auth/api-keys/{id}: 204.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	if err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
