package listactivity

import (
	"net/http"
	"time"

	"github.com/gofrs/uuid/v5"
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
	"github.com/cleanslice/cleanslice/shared/auth"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// event is an audit event without its actor, and without its client
// unless the caller was it.
type event struct {
	ID         uuid.UUID      `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Type       audit.Type     `json:"type"`
	IP         string         `json:"ip,omitempty"`
	UserAgent  string         `json:"user_agent,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	Details    map[string]any `json:"details"`
}

type response struct {
	Events     []event `json:"events"`
	NextCursor *string `json:"next_cursor"`
}

// Handle answers GET /api/v1/auth/activity.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), audit.ParamsFrom(c.Request().URL.Query(), Known))
	if err != nil {
		return err
	}
	out := response{Events: make([]event, len(res.Events))}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	for i, e := range res.Events {
		out.Events[i] = event{e.ID, e.OccurredAt, e.Type, e.IP, e.UserAgent, e.RequestID, e.Details}
	}
	return c.JSON(http.StatusOK, out)
}
