package oauthstart

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct {
	interactor *Interactor
	binding    Binding
}

// errNotNavigation refuses a start that is not a navigation.
var errNotNavigation = &apperr.Error{Kind: apperr.KindForbidden, Code: "forbidden",
	Message: "begin a sign-in by navigating to this address (a link or a redirect), not from a script or an embedded resource"}

// NewHandler returns the handler.
func NewHandler(i *Interactor, binding Binding) *Handler {
	return &Handler{interactor: i, binding: binding}
}

// Handle answers GET /api/v1/auth/oauth/:provider/start?return_to=: 302
// to the provider with the binding cookie, or 303 back to return_to with
// #error=provider_error when the provider cannot be reached.
func (h *Handler) Handle(c *echo.Context) error {
	// A start is a navigation (a link, a redirect). One a browser says it
	// makes otherwise (an image, a script's fetch) is refused before
	// anything is stored or counted: a page elsewhere cannot fill its
	// visitors' windows, nor the table, with starts.
	if m := c.Request().Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return errNotNavigation
	}
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
