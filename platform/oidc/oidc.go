// Package oidc speaks to the configured identity providers (SPEC 4d): it
// builds their authorization URLs (state, nonce, PKCE S256, the redirect
// URI under http.public_url), exchanges a callback's code for tokens and
// turns the answer into verified identity.Claims. Kind oidc (and apple)
// is OpenID Connect by discovery with github.com/coreos/go-oidc: the
// discovery document is fetched at the first sign-in and kept (a provider
// that is down stops nobody's start-up, its sign-ins fail until it
// answers), the ID token is verified (issuer, audience, expiry, signature
// by the provider's published keys, RS256 or ES256 only) and must carry
// the flow's nonce. Kind github is OAuth 2 and GitHub's user and emails
// API. Every call goes through the guarded client of NewClient, and none
// is made inside a database transaction: callers call in before theirs.
package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// Providers are the configured identity providers.
type Providers struct {
	list []*provider
	byID map[string]*provider
}

// provider is one configured provider: its policy, its client settings
// and the protocol of its kind.
type provider struct {
	policy   identity.Provider
	clientID string
	redirect string
	scopes   []string
	client   *http.Client
	proto    protocol

	mu   sync.Mutex
	last *oauth2.Config // kept: it remembers how the token endpoint takes the client's credentials
}

// protocol is what differs between kinds: where to send the browser and
// get tokens, the client secret of a token call, and what the tokens say.
type protocol interface {
	endpoint(ctx context.Context) (oauth2.Endpoint, error)
	secret() (string, error)
	openID() bool // a nonce goes in the authorization URL and comes back in the ID token
	claims(ctx context.Context, tok *oauth2.Token, nonce string) (identity.Claims, error)
}

// CallbackPath is the path of provider id's callback, which its redirect
// URI names under http.public_url.
func CallbackPath(id string) string { return "/api/v1/auth/oauth/" + id + "/callback" }

// New returns the providers of settings, whose redirect URIs start with
// publicURL, calling out through client, with now the clock of ID token
// expiry. Nothing is fetched: a provider's discovery document is fetched
// at its first sign-in. A setting the protocol cannot use (an Apple key
// that does not parse) is an error.
func New(settings []config.OAuthProvider, publicURL string, client *http.Client, now func() time.Time) (*Providers, error) {
	ps := &Providers{byID: map[string]*provider{}}
	for _, s := range settings {
		p := &provider{
			policy: identity.Provider{ID: s.ID, Name: s.Name, ResponseMode: s.ResponseMode, AllowSignup: s.AllowSignup,
				TrustEmail: s.TrustEmail, LinkByEmail: identity.LinkByEmail(s.LinkByEmail)},
			clientID: s.ClientID,
			redirect: publicURL + CallbackPath(s.ID),
			scopes:   s.Scopes,
			client:   client,
		}
		switch s.Kind {
		case config.KindOIDC:
			p.proto = newOpenID(s, client, now, func() (string, error) { return s.ClientSecret, nil }, oauth2.AuthStyleAutoDetect)
		case config.KindApple:
			secret, err := appleSecret(s, now)
			if err != nil {
				return nil, fmt.Errorf("oauth.providers[%s]: %w", s.ID, err)
			}
			p.proto = newOpenID(s, client, now, secret, oauth2.AuthStyleInParams)
		case config.KindGitHub:
			p.proto = &gitHub{base: s.BaseURL, api: s.APIURL, client: client, clientSecret: s.ClientSecret}
		default:
			return nil, fmt.Errorf("oauth.providers[%s]: unknown kind %q", s.ID, s.Kind)
		}
		if p.proto.openID() && !slices.Contains(p.scopes, gooidc.ScopeOpenID) {
			p.scopes = append([]string{gooidc.ScopeOpenID}, p.scopes...)
		}
		ps.list, ps.byID[s.ID] = append(ps.list, p), p
	}
	return ps, nil
}

// List returns every provider, in the order configured.
func (ps *Providers) List() []identity.Provider {
	out := make([]identity.Provider, len(ps.list))
	for k, p := range ps.list {
		out[k] = p.policy
	}
	return out
}

// Provider returns the provider id, if it is configured.
func (ps *Providers) Provider(id string) (identity.Provider, bool) {
	p, ok := ps.byID[id]
	if !ok {
		return identity.Provider{}, false
	}
	return p.policy, true
}

// AuthURL returns where to send the browser for a flow with provider id:
// its authorization endpoint with the client, the redirect URI, the
// scopes, the state, the PKCE S256 challenge of the verifier, the nonce
// (OpenID kinds) and form_post when the provider answers so. It may fetch
// the discovery document (identity.ErrProvider when that fails).
func (ps *Providers) AuthURL(ctx context.Context, id string, s identity.Secrets) (string, error) {
	p, ok := ps.byID[id]
	if !ok {
		return "", identity.ErrProviderNotFound
	}
	ep, err := p.proto.endpoint(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(s.Verifier)}
	if p.proto.openID() {
		opts = append(opts, gooidc.Nonce(s.Nonce))
	}
	if p.policy.ResponseMode == "form_post" {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	c := oauth2.Config{ClientID: p.clientID, Endpoint: ep, RedirectURL: p.redirect, Scopes: p.scopes}
	return c.AuthCodeURL(s.State, opts...), nil
}

// conf is the OAuth 2 client of an endpoint and a client secret; the one
// of the last call while neither changed (with it, what it learnt of how
// the token endpoint takes the client's credentials).
func (p *provider) conf(ep oauth2.Endpoint, secret string) *oauth2.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil || p.last.Endpoint != ep || p.last.ClientSecret != secret {
		p.last = &oauth2.Config{ClientID: p.clientID, ClientSecret: secret, Endpoint: ep, RedirectURL: p.redirect, Scopes: p.scopes}
	}
	return p.last
}

// Exchange trades a callback's code for tokens at provider id's token
// endpoint (with the flow's PKCE verifier) and returns what they say,
// verified: identity.ErrIDTokenInvalid when the ID token does not verify
// or lacks the flow's nonce, identity.ErrProvider when the provider
// cannot be reached or refuses the code. No token is kept.
func (ps *Providers) Exchange(ctx context.Context, id, code, verifier, nonce string) (identity.Claims, error) {
	p, ok := ps.byID[id]
	if !ok {
		return identity.Claims{}, identity.ErrProviderNotFound
	}
	ep, err := p.proto.endpoint(ctx)
	if err != nil {
		return identity.Claims{}, err
	}
	secret, err := p.proto.secret()
	if err != nil {
		return identity.Claims{}, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.conf(ep, secret).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return identity.Claims{}, fmt.Errorf("%s token: %w: %w", p.policy.ID, identity.ErrProvider, err)
	}
	c, err := p.proto.claims(ctx, tok, nonce)
	if err != nil {
		return identity.Claims{}, fmt.Errorf("%s: %w", p.policy.ID, err)
	}
	return c, nil
}

// discoveryRetry is how long after a failed discovery a provider's
// sign-ins fail at once, rather than each waiting for it.
const discoveryRetry = 5 * time.Second

// openID is an OpenID provider found by discovery (kinds oidc and apple).
type openID struct {
	issuer, clientID string
	client           *http.Client
	now              func() time.Time
	clientSecret     func() (string, error)
	authStyle        oauth2.AuthStyle

	mu       sync.Mutex
	found    *gooidc.Provider // nil until the first discovery that succeeds
	verifier *gooidc.IDTokenVerifier
	failed   time.Time // the last failed discovery
}

func newOpenID(s config.OAuthProvider, client *http.Client, now func() time.Time, secret func() (string, error), style oauth2.AuthStyle) *openID {
	return &openID{issuer: s.Issuer, clientID: s.ClientID, client: client, now: now, clientSecret: secret, authStyle: style}
}

func (o *openID) openID() bool            { return true }
func (o *openID) secret() (string, error) { return o.clientSecret() }
func (o *openID) discovered() (*gooidc.Provider, *gooidc.IDTokenVerifier, time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.found, o.verifier, o.failed
}

// provider returns the discovered provider and its ID token verifier,
// fetching the discovery document the first time (and after a failure,
// at most every discoveryRetry). The document's issuer must be the
// configured one.
func (o *openID) provider(ctx context.Context) (*gooidc.Provider, *gooidc.IDTokenVerifier, error) {
	found, v, failed := o.discovered()
	if found != nil {
		return found, v, nil
	}
	if !failed.IsZero() && time.Since(failed) < discoveryRetry {
		return nil, nil, fmt.Errorf("discovery of %s failed %s ago: %w", o.issuer, time.Since(failed).Round(time.Millisecond), identity.ErrProvider)
	}
	found, err := gooidc.NewProvider(gooidc.ClientContext(ctx, o.client), o.issuer)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil {
		err = sameScheme(o.issuer, found)
	}
	if err != nil {
		o.failed = time.Now()
		return nil, nil, fmt.Errorf("discovery of %s: %w: %w", o.issuer, identity.ErrProvider, err)
	}
	o.found = found
	o.verifier = found.Verifier(&gooidc.Config{ClientID: o.clientID, SupportedSigningAlgs: []string{gooidc.RS256, gooidc.ES256}, Now: o.now})
	return o.found, o.verifier, nil
}

// sameScheme refuses the discovery document of an https issuer that names
// an endpoint over plain http, where the code, the client secret or the
// tokens would cross the network in the clear (production requires https
// issuers: see config).
func sameScheme(issuer string, p *gooidc.Provider) error {
	if !strings.HasPrefix(issuer, "https://") {
		return nil
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	_ = p.Claims(&doc) // a provider made from a configuration has no document
	for _, u := range []string{p.Endpoint().AuthURL, p.Endpoint().TokenURL, p.UserInfoEndpoint(), doc.JWKS} {
		if u != "" && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("the https issuer's discovery document names %q: its endpoints must be https too", u)
		}
	}
	return nil
}

func (o *openID) endpoint(ctx context.Context) (oauth2.Endpoint, error) {
	p, _, err := o.provider(ctx)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	ep := p.Endpoint()
	ep.AuthStyle = o.authStyle
	return ep, nil
}

// idClaims are the claims read of an ID token or a user info answer.
type idClaims struct {
	Subject           string `json:"sub"`
	Email             string `json:"email"`
	EmailVerified     any    `json:"email_verified"` // a bool; a string "true" at Apple and Cognito
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
}

func (c idClaims) verified() bool { return c.EmailVerified == true || c.EmailVerified == "true" }

func (c idClaims) name() string {
	if c.PreferredUsername != "" {
		return c.PreferredUsername
	}
	return c.Name
}

// claims verifies the ID token of tok (signature, issuer, audience,
// expiry, and the flow's nonce) and reads its claims; when it gives no
// address or name, the provider's user info (for the same subject) is
// read for them.
func (o *openID) claims(ctx context.Context, tok *oauth2.Token, nonce string) (identity.Claims, error) {
	p, v, err := o.provider(ctx)
	if err != nil {
		return identity.Claims{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity.Claims{}, fmt.Errorf("no id token: %w", identity.ErrIDTokenInvalid)
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return identity.Claims{}, fmt.Errorf("%w: %w", identity.ErrIDTokenInvalid, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return identity.Claims{}, fmt.Errorf("the nonce is not the flow's: %w", identity.ErrIDTokenInvalid)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return identity.Claims{}, fmt.Errorf("claims: %w: %w", identity.ErrIDTokenInvalid, err)
	}
	if c.Subject == "" {
		return identity.Claims{}, fmt.Errorf("no subject: %w", identity.ErrIDTokenInvalid)
	}
	if (c.Email == "" || c.name() == "") && p.UserInfoEndpoint() != "" {
		info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return identity.Claims{}, fmt.Errorf("user info: %w: %w", identity.ErrProvider, err)
		}
		var more idClaims
		// The user info is the ID token's subject's (OpenID Connect Core
		// 5.3.2), or nobody's.
		if err := info.Claims(&more); err == nil && more.Subject == c.Subject {
			if c.Email == "" {
				c.Email, c.EmailVerified = more.Email, more.EmailVerified
			}
			if c.name() == "" {
				c.Name, c.PreferredUsername = more.Name, more.PreferredUsername
			}
		}
	}
	return identity.Claims{Issuer: idt.Issuer, Subject: c.Subject, Email: c.Email, EmailVerified: c.verified(), Name: c.name()}, nil
}

// getJSON GETs u with the bearer token into v; it reports the status of
// an answer that is not 200 as an error it can be told by.
func getJSON(ctx context.Context, client *http.Client, u, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // the connection is reused
		return statusError{code: resp.StatusCode, url: redact(u)}
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v)
}

type statusError struct {
	code int
	url  string
}

func (e statusError) Error() string { return fmt.Sprintf("%s answered %d", e.url, e.code) }

// redact is u without its query.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	p.RawQuery = ""
	return p.String()
}

// errStatus reports the status of a statusError in err.
func errStatus(err error) (int, bool) {
	var s statusError
	if errors.As(err, &s) {
		return s.code, true
	}
	return 0, false
}
