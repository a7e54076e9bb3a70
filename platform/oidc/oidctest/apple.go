package oidctest

import (
	"crypto/ecdsa"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// Apple makes m (not yet started) a stand-in of Sign in with Apple: its
// token endpoint takes no client secret but an ES256 JWT signed with the
// .p8 key whose public half is key, named keyID, issued by team, for m's
// client, to m's issuer, live (it then stands for m's own secret); and an
// authorization asking for response_mode=form_post is answered as Apple
// does, with a page that posts the code and state to the redirect URI.
func Apple(m *mockoidc.MockOIDC, key *ecdsa.PublicKey, team, keyID string) error {
	return m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == mockoidc.TokenEndpoint:
				if err := r.ParseForm(); err != nil || !appleSecret(r.PostForm.Get("client_secret"), m, key, team, keyID) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
					return
				}
				f := r.PostForm
				f.Set("client_secret", m.ClientSecret)
				body := f.Encode()
				r.Body, r.ContentLength, r.Form, r.PostForm = io.NopCloser(strings.NewReader(body)), int64(len(body)), nil, nil
				next.ServeHTTP(w, r)
			case r.URL.Path == mockoidc.AuthorizationEndpoint && r.URL.Query().Get("response_mode") == "form_post":
				// Apple's scope "name" is mockoidc's "profile".
				q := r.URL.Query()
				q.Set("scope", strings.ReplaceAll(q.Get("scope"), "name", "profile"))
				r.URL.RawQuery = q.Encode()
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				to, err := url.Parse(rec.Header().Get("Location"))
				if rec.Code != http.StatusFound || err != nil {
					http.Error(w, "authorization failed", http.StatusBadRequest)
					return
				}
				fields := to.Query()
				to.RawQuery = ""
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_ = formPost.Execute(w, map[string]any{"Action": to.String(), "Code": fields.Get("code"), "State": fields.Get("state")})
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
}

// formPost is Apple's answer of a form_post authorization.
var formPost = template.Must(template.New("form_post").Parse(`<!doctype html><html><body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}"><input type="hidden" name="code" value="{{.Code}}"><input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="user" value='{"name":{"firstName":"Tim","lastName":"Apple"}}'></form></body></html>`))

// appleSecret reports whether secret is a client secret Apple would take.
func appleSecret(secret string, m *mockoidc.MockOIDC, key *ecdsa.PublicKey, team, keyID string) bool {
	var c jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(secret, &c, func(t *jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(team), jwt.WithSubject(m.ClientID), jwt.WithAudience(m.Issuer()),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(time.Minute))
	return err == nil && tok.Header["kid"] == keyID
}

// AppleUser is an account at the stand-in Apple: its ID tokens say
// email_verified as Apple does, a string.
type AppleUser struct {
	Subject string
	Email   string
}

// ID is the subject.
func (u AppleUser) ID() string { return u.Subject }

// Userinfo is the account's user info.
func (u AppleUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": u.Subject, "email": u.Email})
}

// Claims are the ID token's claims.
func (u AppleUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &appleClaims{IDTokenClaims: c, Email: u.Email, EmailVerified: "true", IsPrivateEmail: "false"}, nil
}

type appleClaims struct {
	*mockoidc.IDTokenClaims
	Email          string `json:"email"`
	EmailVerified  string `json:"email_verified"`
	IsPrivateEmail string `json:"is_private_email"`
}
