package enabletotp

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
	Code string `json:"code"`
}

type response struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// Handle answers POST /api/v1/auth/mfa/totp/enable.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Code: req.Code, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store") // shown once
	return c.JSON(http.StatusOK, response{RecoveryCodes: append([]string{}, res.RecoveryCodes...)})
}
