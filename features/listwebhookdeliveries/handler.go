package listwebhookdeliveries

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

// delivery: the times are null when they have not happened (or, for
// next_attempt_at, will not: delivered or given up); last_status is null
// until an attempt got an answer.
type delivery struct {
	ID            uuid.UUID  `json:"id"`
	EventType     string     `json:"event_type"`
	CreatedAt     time.Time  `json:"created_at"`
	Attempts      int        `json:"attempts"`
	LastStatus    *int       `json:"last_status"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	GivenUpAt     *time.Time `json:"given_up_at"`
}

type response struct {
	Deliveries []delivery `json:"deliveries"`
	NextCursor *string    `json:"next_cursor"`
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Handle answers GET /api/v1/webhooks/{id}/deliveries.
func (h *Handler) Handle(c *echo.Context) error {
	ctx := c.Request().Context()
	q := c.Request().URL.Query()
	res, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), Input{Endpoint: c.Param("id"), Limit: q.Get("limit"), Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	out := response{Deliveries: make([]delivery, len(res.Deliveries))}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	for k, d := range res.Deliveries {
		out.Deliveries[k] = delivery{ID: d.ID, EventType: d.EventType, CreatedAt: d.CreatedAt, Attempts: d.Attempts,
			NextAttemptAt: timeOrNull(d.NextAttemptAt), DeliveredAt: timeOrNull(d.DeliveredAt), GivenUpAt: timeOrNull(d.GivenUpAt)}
		if d.LastStatus != 0 {
			out.Deliveries[k].LastStatus = &d.LastStatus
		}
	}
	return c.JSON(http.StatusOK, out)
}
