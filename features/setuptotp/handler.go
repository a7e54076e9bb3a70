package setuptotp

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
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// Handle answers POST /api/v1/auth/mfa/totp/setup.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store") // a secret
	return c.JSON(http.StatusOK, response{Secret: res.Secret, OTPAuthURI: res.URI})
}
