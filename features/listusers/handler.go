package listusers

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/userjson"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

type response struct {
	Users      []userjson.User `json:"users"`
	Total      int             `json:"total"`
	Limit      int             `json:"limit"`
	Offset     *int            `json:"offset"`
	NextCursor *string         `json:"next_cursor"`
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
	out := response{Users: make([]userjson.User, len(res.Users)), Total: res.Total, Limit: res.Limit, Offset: res.Offset}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	for i, u := range res.Users {
		out.Users[i] = userjson.From(u)
	}
	return c.JSON(http.StatusOK, out)
}
