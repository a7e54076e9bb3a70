package requestrecovery

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type request struct {
	Email string `json:"email"`
}

// Handle answers POST /api/v1/auth/recovery: 202 {} whatever the address.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	if err := h.interactor.Execute(c.Request().Context(), Input{Email: req.Email, ClientIP: c.RealIP()}); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, struct{}{})
}
