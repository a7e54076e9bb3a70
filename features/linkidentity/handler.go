package linkidentity

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

type request struct {
	CurrentPassword string `json:"current_password"`
	ReturnTo        string `json:"return_to"`
}

type response struct {
	AuthorizationURL string `json:"authorization_url"`
}

// Handle answers POST /api/v1/auth/identities/:id, the id a provider's:
// 200 with the
// provider's URL (the front-end navigates there) and the binding cookie.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Provider: c.Param("id"), CurrentPassword: req.CurrentPassword,
		ReturnTo: req.ReturnTo, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	h.binding.Write(c.Response(), res.Binding)
	return c.JSON(http.StatusOK, response{AuthorizationURL: res.URL})
}
