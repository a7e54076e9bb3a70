package oidc

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/oauth2"

	"github.com/cleanslice/cleanslice/shared/identity"
)

// gitHub is kind github: OAuth 2 (GitHub has no ID token) and its API. An
// identity is the numeric user id under base (the server: github.com or
// a GitHub Enterprise one); its address counts as verified only when it
// is the primary one and GitHub marks it verified.
type gitHub struct {
	base, api    string
	client       *http.Client
	clientSecret string
}

func (g *gitHub) openID() bool            { return false }
func (g *gitHub) secret() (string, error) { return g.clientSecret, nil }

func (g *gitHub) endpoint(context.Context) (oauth2.Endpoint, error) {
	return oauth2.Endpoint{AuthURL: g.base + "/login/oauth/authorize", TokenURL: g.base + "/login/oauth/access_token",
		AuthStyle: oauth2.AuthStyleInParams}, nil
}

// claims reads the user (/user) and their addresses (/user/emails: none
// when the token may not read them).
func (g *gitHub) claims(ctx context.Context, tok *oauth2.Token, _ string) (identity.Claims, error) {
	var u struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := getJSON(ctx, g.client, g.api+"/user", tok.AccessToken, &u); err != nil {
		return identity.Claims{}, fmt.Errorf("github user: %w: %w", identity.ErrProvider, err)
	}
	if u.ID <= 0 {
		return identity.Claims{}, fmt.Errorf("github user without an id: %w", identity.ErrProvider)
	}
	c := identity.Claims{Issuer: g.base, Subject: strconv.FormatInt(u.ID, 10), Name: u.Login}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	err := getJSON(ctx, g.client, g.api+"/user/emails", tok.AccessToken, &emails)
	if code, ok := errStatus(err); ok && (code == http.StatusForbidden || code == http.StatusNotFound || code == http.StatusUnauthorized) {
		return c, nil // no user:email scope: no address
	}
	if err != nil {
		return identity.Claims{}, fmt.Errorf("github emails: %w: %w", identity.ErrProvider, err)
	}
	for _, e := range emails {
		if e.Primary {
			c.Email, c.EmailVerified = e.Email, e.Verified
		}
	}
	return c, nil
}
