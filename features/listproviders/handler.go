package listproviders

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type provider struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type response struct {
	Providers []provider `json:"providers"`
}

// Handle answers GET /api/v1/auth/oauth/providers.
func (h *Handler) Handle(c *echo.Context) error {
	out := response{Providers: []provider{}}
	for _, p := range h.interactor.Execute() {
		out.Providers = append(out.Providers, provider{ID: p.ID, Name: p.Name})
	}
	return c.JSON(http.StatusOK, out)
}
