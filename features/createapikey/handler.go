package createapikey

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

// request names no user: the key is the caller's (an unknown member, a
// user_id say, is a 400 like every other).
type request struct {
	Name            string `json:"name"`
	Scope           string `json:"scope"`
	ExpiresIn       *int64 `json:"expires_in"`
	CurrentPassword string `json:"current_password"`
}

type response struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Key       string    `json:"key"`
	Scope     string    `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Handle answers POST /api/v1/auth/api-keys: 201 with the key, shown once.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	out, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{
		Name: req.Name, Scope: req.Scope, ExpiresIn: req.ExpiresIn, CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP(),
	})
	if err != nil {
		return err
	}
	k := out.Key
	c.Response().Header().Set("Cache-Control", "no-store") // shown once
	return c.JSON(http.StatusCreated, response{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix(), Key: out.Secret, Scope: string(k.Scope),
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt})
}
