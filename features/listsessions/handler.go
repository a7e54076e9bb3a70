package listsessions

import (
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type sessionResponse struct {
	ID         *uuid.UUID `json:"id"` // null for a session from before public ids
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	UserAgent  string     `json:"user_agent"`
	IP         string     `json:"ip"`
	AAL        int        `json:"aal"`
	Methods    []string   `json:"methods"`
	Current    bool       `json:"current"`
}

type response struct {
	Sessions []sessionResponse `json:"sessions"`
}

// Handle answers GET /api/v1/auth/sessions.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	items, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx))
	if err != nil {
		return err
	}
	out := response{Sessions: make([]sessionResponse, len(items))}
	for n, it := range items {
		s := it.Session
		var id *uuid.UUID
		if !s.PublicID.IsNil() {
			id = &s.PublicID
		}
		out.Sessions[n] = sessionResponse{id, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.UserAgent, s.IP, s.AAL, s.Methods, it.Current}
	}
	return c.JSON(http.StatusOK, out)
}
