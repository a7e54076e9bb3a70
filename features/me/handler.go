package me

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/auth"
	"github.com/cleanslice/cleanslice/shared/userjson"
)

// Handle answers GET /api/v1/auth/me.
func Handle(c *echo.Context) error {
	u, err := Execute(auth.ActorFrom(c.Request().Context()))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userjson.From(u))
}
