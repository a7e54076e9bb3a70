package listwebhooks

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

type response struct {
	Webhooks []webhookjson.Endpoint `json:"webhooks"`
}

// Handle answers GET /api/v1/webhooks.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	list, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx))
	if err != nil {
		return err
	}
	out := response{Webhooks: make([]webhookjson.Endpoint, len(list))}
	for k, e := range list {
		out.Webhooks[k] = webhookjson.From(e)
	}
	return c.JSON(http.StatusOK, out)
}
