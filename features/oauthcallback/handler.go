package oauthcallback

import (
	"crypto/rand"
	"html/template"
	"net/http"
	"slices"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/shared/identity"
)

// Handler is the HTTP adapter.
type Handler struct {
	interactor *Interactor
	cookies    Cookies
	binding    Binding
}

// NewHandler returns the handler.
func NewHandler(i *Interactor, cookies Cookies, binding Binding) *Handler {
	return &Handler{interactor: i, cookies: cookies, binding: binding}
}

// repostField marks a form the re-post page sent: it is not sent back
// twice.
const repostField = "reposted"

// Handle answers GET and POST /api/v1/auth/oauth/:provider/callback: 303
// to the flow's return_to with the session cookie (or a pending login's,
// and #mfa_required), or with #error=<code>. A provider that answers with
// form_post (Apple) comes back as a cross-site POST, which carries no
// SameSite=Lax cookie: without the binding cookie, such a POST is answered
// a page of this origin that posts the same fields back here, now
// same-site (nothing is spent before).
func (h *Handler) Handle(c *echo.Context) error {
	r := c.Request()
	if _, ok := h.interactor.providers.Provider(c.Param("provider")); !ok {
		return identity.ErrProviderNotFound
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	binding := h.binding.Read(r)
	if r.Method == http.MethodPost && binding == "" && r.PostForm.Get(repostField) == "" {
		return repost(c, r.PostForm)
	}
	res, err := h.interactor.Execute(r.Context(), Input{
		Provider: c.Param("provider"), State: r.Form.Get("state"), Code: r.Form.Get("code"), Error: r.Form.Get("error"),
		Binding: binding, ClientIP: c.RealIP(), UserAgent: r.UserAgent(),
	})
	if err != nil {
		return err
	}
	h.binding.Clear(c.Response())
	switch {
	case res.Session != nil:
		if err := h.cookies.Write(c.Response(), res.Secret, res.Session.CreatedAt, res.Session.ExpiresAt); err != nil {
			return err
		}
	case res.Pending != nil:
		if err := h.cookies.Write(c.Response(), res.Secret, res.Pending.CreatedAt, res.Pending.ExpiresAt); err != nil {
			return err
		}
	}
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusSeeOther, res.Location)
}

// repostPage posts its fields back to the page's own URL at once (a
// button without scripts).
var repostPage = template.Must(template.New("repost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body><form method="post">{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}<input type="hidden" name="` + repostField + `" value="1">
<noscript><button type="submit">Continue signing in</button></noscript></form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script></body></html>
`))

type field struct{ Name, Value string }

// repost answers the page that sends form back, same-site. Its policy
// lets nothing load, only its own script run and the form go nowhere but
// here; no Referer leaves it.
func repost(c *echo.Context, form map[string][]string) error {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	slices.Sort(names)
	data := struct {
		Fields []field
		Nonce  string
	}{Nonce: rand.Text()}
	for _, name := range names {
		for _, v := range form[name] {
			data.Fields = append(data.Fields, field{name, v})
		}
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+data.Nonce+"'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Type", "text/html; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	return repostPage.Execute(c.Response(), data)
}
