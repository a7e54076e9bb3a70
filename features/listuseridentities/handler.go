package listuseridentities

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/identityjson"
)

// Handler is the HTTP adapter.
type Handler struct{ interactor *Interactor }

// NewHandler returns the handler.
func NewHandler(i *Interactor) *Handler { return &Handler{interactor: i} }

// Handle answers GET /api/v1/users/identities?username=NAME.
func (h *Handler) Handle(c *echo.Context) error {
	q := c.Request().URL.Query()
	in := Input{Username: q.Get("username")}
	for name := range q {
		if name != "username" {
			in.Unknown = append(in.Unknown, name)
		}
	}
	ctx := c.Request().Context()
	ids, err := h.interactor.Execute(ctx, auth.ActorFrom(ctx), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, identityjson.From(ids))
}
