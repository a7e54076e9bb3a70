// Package oidctest holds stand-ins of real identity providers for tests,
// speaking their protocols over real HTTP on loopback: a GitHub (OAuth 2
// with PKCE, its user and emails API) and an Apple (Sign in with Apple's
// form_post answers and ES256 client secrets, over a mockoidc provider).
package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// GitHubUser is an account at the fake GitHub: its numeric id and login,
// and its addresses (none: the emails API answers 404, as for a token
// without the user:email scope).
type GitHubUser struct {
	ID     int64
	Login  string
	Name   string
	Emails []GitHubEmail
}

// GitHubEmail is one address of a GitHub account.
type GitHubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// GitHub is a fake GitHub server: /login/oauth/authorize signs the next
// queued user in at once, /login/oauth/access_token checks the client,
// the code (once), the redirect URI and the PKCE S256 verifier, and the
// API under /api answers /user and /user/emails for its tokens.
type GitHub struct {
	URL          string // the server: base_url
	APIURL       string // its API: api_url
	ClientID     string
	ClientSecret string

	mu     sync.Mutex
	queue  []GitHubUser
	codes  map[string]grant
	tokens map[string]GitHubUser
}

type grant struct {
	user      GitHubUser
	redirect  string
	challenge string
}

// NewGitHub starts a fake GitHub for the test.
func NewGitHub(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{ClientID: "gh-client", ClientSecret: "gh-secret", codes: map[string]grant{}, tokens: map[string]GitHubUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.token)
	mux.HandleFunc("GET /api/user", g.user)
	mux.HandleFunc("GET /api/user/emails", g.emails)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g.URL, g.APIURL = srv.URL, srv.URL+"/api"
	return g
}

// Queue makes u the account the next authorization signs in.
func (g *GitHub) Queue(u GitHubUser) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = append(g.queue, u)
}

func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != g.ClientID || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.mu.Unlock()
		http.Error(w, "no user queued", http.StatusInternalServerError)
		return
	}
	u := g.queue[0]
	g.queue = g.queue[1:]
	code := rand.Text()
	g.codes[code] = grant{user: u, redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	g.mu.Unlock()
	to, _ := url.Parse(q.Get("redirect_uri"))
	v := to.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (g *GitHub) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	g.mu.Lock()
	gr, ok := g.codes[f.Get("code")]
	delete(g.codes, f.Get("code"))
	g.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	w.Header().Set("Content-Type", "application/json")
	// GitHub answers a refused code 200 with an error member.
	if f.Get("client_id") != g.ClientID || f.Get("client_secret") != g.ClientSecret || !ok || gr.redirect != f.Get("redirect_uri") ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != gr.challenge {
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
		return
	}
	tok := rand.Text()
	g.mu.Lock()
	g.tokens[tok] = gr.user
	g.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:user,user:email"})
}

// bearer returns the account of the request's token.
func (g *GitHub) bearer(r *http.Request) (GitHubUser, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g.mu.Lock()
	defer g.mu.Unlock()
	u, known := g.tokens[tok]
	return u, ok && known
}

func (g *GitHub) user(w http.ResponseWriter, r *http.Request) {
	u, ok := g.bearer(r)
	if !ok {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": u.ID, "login": u.Login, "name": u.Name, "email": nil})
}

func (g *GitHub) emails(w http.ResponseWriter, r *http.Request) {
	u, ok := g.bearer(r)
	if !ok {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	if u.Emails == nil {
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(u.Emails)
}
