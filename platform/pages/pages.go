// Package pages serves the small pages that mail links open
// (/account/verify, /account/recover): embedded HTML, one script and one
// stylesheet, no external resource, talking to the API on the same origin.
// A product points mail.verification_url and mail.recovery_url at its own
// front-end instead.
package pages

import (
	"embed"
	"net/http"

	"github.com/labstack/echo/v5"
)

//go:embed static
var static embed.FS

// contentSecurity lets the pages load their own script and style and call
// the API of their origin, and nothing else: no inline script, no frame,
// no form posting elsewhere.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// File returns the handler of the embedded file name, served as
// contentType.
func File(name, contentType string) echo.HandlerFunc {
	body, err := static.ReadFile("static/" + name)
	if err != nil {
		panic("pages: " + name + " is not embedded") // a build mistake, caught by the tests
	}
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurity)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		return c.Blob(http.StatusOK, contentType, body)
	}
}
