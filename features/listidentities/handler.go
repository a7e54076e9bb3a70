package listidentities

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identityjson"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// Handle answers GET /api/v1/auth/identities.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	ids, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, identityjson.From(ids))
}
