package retrywebhookdelivery

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// Handle answers POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry:
// 202 {}, the delivery due now.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	if err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Endpoint: c.Param("id"), Delivery: c.Param("delivery")}); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, struct{}{})
}
