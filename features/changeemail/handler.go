package changeemail

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/userjson"
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
	return c.JSON(http.StatusOK, userjson.From(u))
}
