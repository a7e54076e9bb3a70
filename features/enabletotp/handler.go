package enabletotp

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct {
	interactor *Interactor
	cookies    Cookies
}

// NewHandler returns the handler.
func NewHandler(i *Interactor, cookies Cookies) *Handler {
	return &Handler{interactor: i, cookies: cookies}
}

type request struct {
	Code string `json:"code"`
}

type response struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// Handle answers POST /api/v1/auth/mfa/totp/enable; a first factor sets
// the caller's new session cookie (every other session has ended).
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Code: req.Code, ClientIP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return err
	}
	if res.First() {
		if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
			return err
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store") // shown once
	return c.JSON(http.StatusOK, response{RecoveryCodes: append([]string{}, res.RecoveryCodes...)})
}
