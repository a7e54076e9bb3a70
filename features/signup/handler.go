package signup

import (
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type request struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type userResponse struct {
	ID        uuid.UUID `json:"id"`
	Username  string    `json:"username"`
	Role      user.Role `json:"role"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Handle answers POST /api/v1/auth/signup.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Username: req.Username, Password: req.Password, ClientIP: c.RealIP()})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userResponse{u.ID, u.Username, u.Role, u.IsActive, u.CreatedAt, u.UpdatedAt})
}
