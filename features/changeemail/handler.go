package changeemail

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/user"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// request's email is raw so that a missing member (a mistake) is told
// apart from null (remove the address).
type request struct {
	Email           json.RawMessage `json:"email"`
	CurrentPassword string          `json:"current_password"`
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

// Handle answers PUT /api/v1/auth/email: 200 and the user.
func (h *Handler) Handle(c *echo.Context) error {
	var req request
	if err := c.Bind(&req); err != nil {
		return err
	}
	var email *string
	if len(req.Email) == 0 || json.Unmarshal(req.Email, &email) != nil || (email != nil && *email == "") {
		fields := []apperr.FieldError{{Field: "email", Message: "email must be the new address, or null to remove it"}}
		if req.CurrentPassword == "" {
			fields = append(fields, apperr.FieldError{Field: "current_password", Message: "current_password is required"})
		}
		return apperr.Invalid(fields...)
	}
	in := Input{CurrentPassword: req.CurrentPassword, ClientIP: c.RealIP()}
	if email != nil {
		in.Email = *email
	}
	ctx := c.Request().Context()
	u, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}
