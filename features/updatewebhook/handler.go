package updatewebhook

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/webhookjson"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// request: an absent (or null) member leaves its field as it is.
type request struct {
	URL             *string   `json:"url"`
	Events          *[]string `json:"events"`
	Description     *string   `json:"description"`
	Enabled         *bool     `json:"enabled"`
	CurrentPassword string    `json:"current_password"`
}

// Handle answers PATCH /api/v1/webhooks/{id}: 200, the endpoint.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	e, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{ID: c.Param("id"), URL: req.URL, Events: req.Events,
		Description: req.Description, Enabled: req.Enabled, CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookjson.From(e))
}
