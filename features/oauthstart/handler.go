package oauthstart

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct {
	interactor *Interactor
	binding    Binding
}

// NewHandler returns the handler.
func NewHandler(i *Interactor, binding Binding) *Handler {
	return &Handler{interactor: i, binding: binding}
}

// Handle answers GET /api/v1/auth/oauth/:provider/start?return_to=: 302
// to the provider with the binding cookie, or 303 back to return_to with
// #error=provider_error when the provider cannot be reached.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Provider: c.Param("provider"), ReturnTo: c.QueryParam("return_to"), ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	if res.Binding == "" {
		return c.Redirect(http.StatusSeeOther, res.Location)
	}
	h.binding.Write(c.Response(), res.Binding)
	return c.Redirect(http.StatusFound, res.Location)
}
