package rotatewebhooksecret

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

type response struct {
	Secret string `json:"secret"`
}

// Handle answers POST /api/v1/webhooks/{id}/secret: 200, the new secret.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	secret, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{ID: c.Param("id"), CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, response{string(secret)})
}
