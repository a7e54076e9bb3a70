package listusers

import (
	"net/http"
	"slices"
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

type response struct {
	Users      []userResponse `json:"users"`
	Total      int            `json:"total"`
	Limit      int            `json:"limit"`
	Offset     *int           `json:"offset"`
	NextCursor *string        `json:"next_cursor"`
}

var known = []string{"limit", "offset", "cursor", "sort", "order"}

// Handle answers GET /api/v1/users.
func (h *Handler) Handle(c *echo.Context) error {
	q := c.Request().URL.Query()
	in := Input{Limit: q.Get("limit"), Offset: q.Get("offset"), Sort: q.Get("sort"), Order: q.Get("order"), Cursor: q.Get("cursor")}
	for name := range q {
		if !slices.Contains(known, name) {
			in.Unknown = append(in.Unknown, name)
		}
	}
	slices.Sort(in.Unknown)
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), in)
	if err != nil {
		return err
	}
	out := response{Users: make([]userResponse, len(res.Users)), Total: res.Total, Limit: res.Limit, Offset: res.Offset}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	for i, u := range res.Users {
		out.Users[i] = newUserResponse(u)
	}
	return c.JSON(http.StatusOK, out)
}
