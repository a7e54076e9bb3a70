package confirmrecovery

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type request struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

// Handle answers POST /api/v1/auth/recovery/confirm: 204; no session.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	in := Input{Token: req.Token, NewPassword: req.NewPassword, ClientIP: c.RealIP()}
	if err := h.interactor.Execute(c.Request().Context(), in); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
