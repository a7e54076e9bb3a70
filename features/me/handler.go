package me

import (
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

type userResponse struct {
	ID        uuid.UUID `json:"id"`
	Username  string    `json:"username"`
	Role      user.Role `json:"role"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Handle answers GET /api/v1/auth/me.
func Handle(c *echo.Context) error {
	u, err := Execute(auth.ActorFrom(c.Request().Context()))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userResponse{u.ID, u.Username, u.Role, u.IsActive, u.CreatedAt, u.UpdatedAt})
}
