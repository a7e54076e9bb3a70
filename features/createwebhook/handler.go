package createwebhook

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

type request struct {
	URL             string   `json:"url"`
	Events          []string `json:"events"`
	Description     string   `json:"description"`
	CurrentPassword string   `json:"current_password"`
}

type response struct {
	webhookjson.Endpoint
	Secret string `json:"secret"`
}

// Handle answers POST /api/v1/webhooks: 201, the endpoint and its secret.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	e, secret, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{URL: req.URL, Events: req.Events, Description: req.Description,
		CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, response{webhookjson.From(e), string(secret)})
}
