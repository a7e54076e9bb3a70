package registerpasskey

import (
	"encoding/json"
	"net/http"
	"time"

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

type beginRequest struct {
	CurrentPassword string `json:"current_password"`
}

// Begin answers POST /api/v1/auth/mfa/webauthn/register/begin: the
// creation options.
func (h *Handler) Begin(c *echo.Context) error {
	var req beginRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	opts, err := h.interactor.Begin(ctx, auth.ActorFrom(ctx), BeginInput{CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}

type finishRequest struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

type response struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"created_at"`
	RecoveryCodes []string  `json:"recovery_codes,omitempty"`
}

// Finish answers POST /api/v1/auth/mfa/webauthn/register/finish: 201 the
// stored passkey (and, for a first factor, the recovery codes and the
// caller's new session cookie: every other session has ended).
func (h *Handler) Finish(c *echo.Context) error {
	var req finishRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Finish(ctx, auth.ActorFrom(ctx), FinishInput{Name: req.Name, Credential: req.Credential,
		ClientIP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return err
	}
	if res.First() {
		if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
			return err
		}
	}
	p := res.Passkey
	if len(res.RecoveryCodes) > 0 {
		c.Response().Header().Set("Cache-Control", "no-store") // shown once
	}
	return c.JSON(http.StatusCreated, response{ID: p.PublicID.String(), Name: p.Name, CreatedAt: p.CreatedAt.UTC(), RecoveryCodes: res.RecoveryCodes})
}
