package listmfa

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type totpResponse struct {
	Enabled   bool       `json:"enabled"`
	EnabledAt *time.Time `json:"enabled_at"`
}

type passkeyResponse struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type response struct {
	TOTP              totpResponse      `json:"totp"`
	WebAuthn          []passkeyResponse `json:"webauthn"`
	RecoveryCodesLeft int               `json:"recovery_codes_left"`
}

// Handle answers GET /api/v1/auth/mfa.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx))
	if err != nil {
		return err
	}
	f := res.Factors
	out := response{TOTP: totpResponse{Enabled: f.TOTP()}, WebAuthn: []passkeyResponse{}, RecoveryCodesLeft: f.RecoveryCodesLeft}
	for _, p := range res.Passkeys {
		item := passkeyResponse{ID: p.PublicID.String(), Name: p.Name, CreatedAt: p.CreatedAt.UTC()}
		if !p.LastUsedAt.IsZero() {
			used := p.LastUsedAt.UTC()
			item.LastUsedAt = &used
		}
		out.WebAuthn = append(out.WebAuthn, item)
	}
	if f.TOTP() {
		at := f.TOTPEnabledAt.UTC()
		out.TOTP.EnabledAt = &at
	}
	return c.JSON(http.StatusOK, out)
}
