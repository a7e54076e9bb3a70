package signup

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
}

// Handle answers POST /api/v1/auth/signup.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Username: req.Username, Password: req.Password, Email: req.Email, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userjson.From(u))
}
