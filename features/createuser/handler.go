package createuser

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/userjson"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type request struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
	Role     string `json:"role"`
}

// Handle answers POST /api/v1/users.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userjson.From(u))
}
