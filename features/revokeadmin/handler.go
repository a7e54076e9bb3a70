package revokeadmin

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
}

type userResponse struct {
	ID            uuid.UUID `json:"id"`
	Username      string    `json:"username"`
	Email         *string   `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Role          user.Role `json:"role"`
	IsActive      bool      `json:"is_active"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func newUserResponse(u user.User) userResponse {
	r := userResponse{ID: u.ID, Username: u.Username, EmailVerified: u.EmailVerified(), Role: u.Role, IsActive: u.IsActive, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Email != "" {
		r.Email = &u.Email
	}
	return r
}

// Handle answers PATCH /api/v1/users/revoke.
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
	return c.JSON(http.StatusOK, newUserResponse(u))
}
