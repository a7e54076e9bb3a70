package health

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// Handler serves the probes.
type Handler struct{ checker *Checker }

// NewHandler returns the probes' handler.
func NewHandler(c *Checker) *Handler { return &Handler{checker: c} }

// The answers never change, so they are encoded once.
var (
	statusOK    = []byte(`{"status":"ok"}`)
	statusAlive = []byte(`{"status":"alive"}`)
	statusReady = []byte(`{"status":"ready"}`)
)

// Status answers GET /api/v1/: the API is up.
func (h *Handler) Status(c *echo.Context) error {
	return c.JSONBlob(http.StatusOK, statusOK)
}

// Live answers GET /livez: the process runs and serves HTTP.
func (h *Handler) Live(c *echo.Context) error {
	return c.JSONBlob(http.StatusOK, statusAlive)
}

// Ready answers GET /readyz: 200 when the database answers, else 503.
func (h *Handler) Ready(c *echo.Context) error {
	if err := h.checker.Ready(c.Request().Context()); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, statusReady)
}
