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

// Handle answers GET /api/v1/auth/me.
func Handle(c *echo.Context) error {
	u, err := Execute(auth.ActorFrom(c.Request().Context()))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}
