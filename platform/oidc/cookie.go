package oidc

import (
	"net/http"
	"time"

	"github.com/cleanslice/cleanslice/shared/identity"
)

// BindingCookieName is the cookie that binds a flow to the browser that
// began it.
const BindingCookieName = "oauth_binding"

// bindingPath scopes the binding cookie to the routes that read it: the
// callbacks.
const bindingPath = "/api/v1/auth/oauth/"

// BindingCookie reads and writes the binding cookie: HttpOnly,
// SameSite=Lax (a provider's redirect back is a top-level navigation, which
// carries it; a cross-site form_post does not, see the callback), Secure
// as the session cookie, for the life of a flow.
type BindingCookie struct{ Secure bool }

// Write gives the browser the binding secret of the flow it begins.
func (b BindingCookie) Write(w http.ResponseWriter, secret string) {
	ck := b.base()
	ck.Value, ck.MaxAge = secret, int(identity.FlowTTL/time.Second)
	http.SetCookie(w, ck)
}

// Read returns the binding secret the request carries, "" for none.
func (b BindingCookie) Read(r *http.Request) string {
	ck, err := r.Cookie(BindingCookieName)
	if err != nil {
		return ""
	}
	return ck.Value
}

// Clear expires the cookie: a flow's callback spends it.
func (b BindingCookie) Clear(w http.ResponseWriter) {
	ck := b.base()
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

func (b BindingCookie) base() *http.Cookie {
	return &http.Cookie{Name: BindingCookieName, Path: bindingPath, HttpOnly: true, Secure: b.Secure, SameSite: http.SameSiteLaxMode}
}
