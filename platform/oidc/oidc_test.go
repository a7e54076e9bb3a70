package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/shared/identity"
)

// startMock runs a mock OpenID provider for the test; prepare, when set,
// adjusts it before it starts.
func startMock(t *testing.T, prepare func(m *mockoidc.MockOIDC)) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(m)
	}
	ln, err := newLoopbackListener()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

func providersFor(t *testing.T, settings ...config.OAuthProvider) *Providers {
	t.Helper()
	ps, err := New(settings, "https://api.example.com", NewClient(true), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func mockSettings(m *mockoidc.MockOIDC) config.OAuthProvider {
	return config.OAuthProvider{ID: "corp", Name: "Corp", Kind: config.KindOIDC, Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		Scopes: []string{"openid", "email", "profile"}, ResponseMode: "query", AllowSignup: true, LinkByEmail: "never"}
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}

// authorize plays the browser at the provider: it follows the
// authorization URL and returns the callback's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirects.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func secrets() identity.Secrets {
	return identity.Secrets{State: rand.Text() + rand.Text(), Nonce: rand.Text() + rand.Text(), Verifier: rand.Text() + rand.Text()}
}

// TestOpenIDSignIn: the authorization URL carries everything a flow
// needs, and a code comes back as the verified claims of its ID token.
func TestOpenIDSignIn(t *testing.T) {
	m := startMock(t, nil)
	m.QueueUser(&mockoidc.MockUser{Subject: "248289761001", Email: "jane@example.com", EmailVerified: true, PreferredUsername: "jane.doe"})
	ps := providersFor(t, mockSettings(m))
	s := secrets()
	u, err := ps.AuthURL(context.Background(), "corp", s)
	if err != nil {
		t.Fatal(err)
	}
	q := mustParse(t, u).Query()
	if !strings.HasPrefix(u, m.AuthorizationEndpoint()) || q.Get("state") != s.State || q.Get("nonce") != s.Nonce || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || strings.Contains(u, s.Verifier) || q.Get("redirect_uri") != "https://api.example.com/api/v1/auth/oauth/corp/callback" ||
		q.Get("scope") != "openid email profile" || q.Get("response_type") != "code" || q.Has("response_mode") {
		t.Fatalf("authorization URL %s", u)
	}
	back := authorize(t, u)
	if back.Get("state") != s.State {
		t.Fatalf("callback %v", back)
	}
	c, err := ps.Exchange(context.Background(), "corp", back.Get("code"), s.Verifier, s.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	want := identity.Claims{Issuer: m.Issuer(), Subject: "248289761001", Email: "jane@example.com", EmailVerified: true, Name: "jane.doe"}
	if c != want {
		t.Fatalf("claims %+v, want %+v", c, want)
	}
	if p, ok := ps.Provider("corp"); !ok || p.Name != "Corp" || len(ps.List()) != 1 {
		t.Fatalf("provider %+v", p)
	}
	if _, err := ps.AuthURL(context.Background(), "other", s); !errors.Is(err, identity.ErrProviderNotFound) {
		t.Fatalf("an unknown provider: %v", err)
	}
}

// claimsUser is a mock user whose ID token claims a test may alter.
type claimsUser struct {
	mockoidc.MockUser
	alter func(c *mockoidc.IDTokenClaims)
}

func (u *claimsUser) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	u.alter(c)
	return u.MockUser.Claims(scope, c)
}

// TestIDTokenRefusals: an ID token is refused unless it is the provider's
// (signature by a published key, issuer), for this client (audience),
// live (expiry) and this flow's (nonce); and a code is refused unless it
// comes with the flow's PKCE verifier.
func TestIDTokenRefusals(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		prepare func(m *mockoidc.MockOIDC)
		alter   func(c *mockoidc.IDTokenClaims)
		nonce   string // the flow's, when not the one sent
		wrongV  bool   // the code is exchanged with another verifier
		want    error
	}{
		{name: "another audience", alter: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"someone-else"} }, want: identity.ErrIDTokenInvalid},
		{name: "another issuer", alter: func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://evil.example.com" }, want: identity.ErrIDTokenInvalid},
		{name: "expired", alter: func(c *mockoidc.IDTokenClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }, want: identity.ErrIDTokenInvalid},
		{name: "another flow's nonce", alter: func(c *mockoidc.IDTokenClaims) { c.Nonce = "replayed" }, want: identity.ErrIDTokenInvalid},
		{name: "no nonce", alter: func(c *mockoidc.IDTokenClaims) { c.Nonce = "" }, want: identity.ErrIDTokenInvalid},
		{name: "no subject", alter: func(c *mockoidc.IDTokenClaims) { c.Subject = "" }, want: identity.ErrIDTokenInvalid},
		{name: "signed by a key the provider does not publish", prepare: func(m *mockoidc.MockOIDC) {
			m.Keypair = &mockoidc.Keypair{PrivateKey: other, PublicKey: m.Keypair.PublicKey}
		}, want: identity.ErrIDTokenInvalid},
		{name: "the code without the flow's verifier", wrongV: true, want: identity.ErrProvider},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := startMock(t, c.prepare)
			alter := c.alter
			if alter == nil {
				alter = func(*mockoidc.IDTokenClaims) {}
			}
			m.QueueUser(&claimsUser{MockUser: mockoidc.MockUser{Subject: "s1", Email: "a@example.com"}, alter: alter})
			ps := providersFor(t, mockSettings(m))
			s := secrets()
			u, err := ps.AuthURL(context.Background(), "corp", s)
			if err != nil {
				t.Fatal(err)
			}
			verifier := s.Verifier
			if c.wrongV {
				verifier = rand.Text() + rand.Text()
			}
			_, err = ps.Exchange(context.Background(), "corp", authorize(t, u).Get("code"), verifier, s.Nonce)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestDiscoveryIsLazyAndRetried: a provider that does not answer stops
// nothing at start-up; its flows fail (at once for a few seconds after a
// failure) until it answers, then its document is kept.
func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	var up atomic.Bool
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"` + "http://" + r.Host + `","authorization_endpoint":"http://` + r.Host + `/authorize","token_endpoint":"http://` + r.Host + `/token","jwks_uri":"http://` + r.Host + `/keys"}`))
	}))
	t.Cleanup(srv.Close)
	ps := providersFor(t, config.OAuthProvider{ID: "corp", Kind: config.KindOIDC, Issuer: srv.URL, ClientID: "c", ClientSecret: "s", ResponseMode: "query"})
	if fetches.Load() != 0 {
		t.Fatal("New fetched the discovery document")
	}
	if _, err := ps.AuthURL(context.Background(), "corp", secrets()); !errors.Is(err, identity.ErrProvider) || fetches.Load() != 1 {
		t.Fatalf("down: %v, %d fetches", err, fetches.Load())
	}
	up.Store(true)
	if _, err := ps.AuthURL(context.Background(), "corp", secrets()); !errors.Is(err, identity.ErrProvider) || fetches.Load() != 1 {
		t.Fatalf("just after a failure: %v, %d fetches", err, fetches.Load())
	}
	o := ps.byID["corp"].proto.(*openID)
	o.mu.Lock()
	o.failed = time.Now().Add(-discoveryRetry)
	o.mu.Unlock()
	for range 3 {
		if u, err := ps.AuthURL(context.Background(), "corp", secrets()); err != nil || !strings.HasPrefix(u, srv.URL+"/authorize?") {
			t.Fatalf("up: %s, %v", u, err)
		}
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches: the document was not kept", fetches.Load())
	}
}

// TestIssuerMustMatch: a discovery document naming another issuer is
// refused.
func TestIssuerMustMatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"https://evil.example.com","authorization_endpoint":"https://evil.example.com/a","token_endpoint":"https://evil.example.com/t","jwks_uri":"https://evil.example.com/k"}`))
	}))
	t.Cleanup(srv.Close)
	ps := providersFor(t, config.OAuthProvider{ID: "corp", Kind: config.KindOIDC, Issuer: srv.URL, ClientID: "c", ClientSecret: "s", ResponseMode: "query"})
	if _, err := ps.AuthURL(context.Background(), "corp", secrets()); !errors.Is(err, identity.ErrProvider) {
		t.Fatalf("%v", err)
	}
}

// TestClientGuards: production's client connects to no loopback or
// private address, whatever the name resolves to; no client follows a
// redirect to another host.
func TestClientGuards(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, "http://localhost:1/token", http.StatusTemporaryRedirect)
		case "/here":
			http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
		default:
			w.Write([]byte("ok"))
		}
	}))
	t.Cleanup(srv.Close)
	if _, err := NewClient(false).Get(srv.URL); !errors.Is(err, ErrPrivateAddress) {
		t.Fatalf("production reached loopback: %v", err)
	}
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := NewClient(false).Get(localhost); !errors.Is(err, ErrPrivateAddress) {
		t.Fatalf("production reached loopback by name: %v", err)
	}
	dev := NewClient(true)
	if resp, err := dev.Get(srv.URL + "/here"); err != nil || resp.Request.URL.Path != "/ok" {
		t.Fatalf("a redirect on the same host: %v", err)
	}
	if _, err := dev.Post(srv.URL+"/away", "application/x-www-form-urlencoded", strings.NewReader("code=x")); !errors.Is(err, ErrRedirect) {
		t.Fatalf("a redirect to another host: %v", err)
	}
	for addr, refused := range map[string]bool{
		"127.0.0.1:443": true, "10.1.2.3:443": true, "172.16.0.1:443": true, "192.168.1.1:443": true, "169.254.169.254:80": true,
		"100.64.0.1:443": true, "0.0.0.0:443": true, "[::1]:443": true, "[fe80::1]:443": true, "[fd00::1]:443": true, "[::ffff:127.0.0.1]:443": true,
		"224.0.0.1:443": true, "8.8.8.8:443": false, "[2606:4700::1111]:443": false,
	} {
		if err := publicOnly("tcp", addr, nil); (err != nil) != refused {
			t.Errorf("publicOnly(%s) = %v, want refused %v", addr, err, refused)
		}
	}
}

// TestAppleClientSecret: Apple's client secret is an ES256 JWT of the
// .p8 key: issued by the team, for the client, to Apple, named by the key.
func TestAppleClientSecret(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	secret, err := appleSecret(config.OAuthProvider{ClientID: "com.example.web", ClientSecret: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		TeamID: "TEAM123456", KeyID: "KEY1234567", Issuer: "https://appleid.apple.com"}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	raw, err := secret()
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return &k.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil || tok.Header["kid"] != "KEY1234567" || c.Issuer != "TEAM123456" || c.Subject != "com.example.web" ||
		len(c.Audience) != 1 || c.Audience[0] != "https://appleid.apple.com" || !c.ExpiresAt.Equal(now.Add(appleSecretTTL)) {
		t.Fatalf("secret %+v %v: %v", c, tok, err)
	}
	if _, err := appleSecret(config.OAuthProvider{ClientSecret: "not a key"}, time.Now); err == nil {
		t.Fatal("a secret that is no key")
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newLoopbackListener() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// TestSameScheme: an https issuer's discovery document may name no
// endpoint over plain http (the code, the client secret and the tokens
// would cross the network in the clear); an http issuer (development) may.
func TestSameScheme(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		config gooidc.ProviderConfig
		ok     bool
	}{
		{"https throughout", gooidc.ProviderConfig{IssuerURL: "https://id.example", AuthURL: "https://id.example/auth", TokenURL: "https://id.example/token", UserInfoURL: "https://id.example/userinfo"}, true},
		{"an http token endpoint", gooidc.ProviderConfig{IssuerURL: "https://id.example", AuthURL: "https://id.example/auth", TokenURL: "http://id.example/token"}, false},
		{"an http authorization endpoint", gooidc.ProviderConfig{IssuerURL: "https://id.example", AuthURL: "http://id.example/auth", TokenURL: "https://id.example/token"}, false},
		{"an http user info endpoint", gooidc.ProviderConfig{IssuerURL: "https://id.example", AuthURL: "https://id.example/auth", TokenURL: "https://id.example/token", UserInfoURL: "http://id.example/userinfo"}, false},
		{"an http issuer (development)", gooidc.ProviderConfig{IssuerURL: "http://localhost:9000", AuthURL: "http://localhost:9000/auth", TokenURL: "http://localhost:9000/token"}, true},
	} {
		err := sameScheme(c.config.IssuerURL, c.config.NewProvider(ctx))
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestPublicOnlyEmbeddedIPv4: addresses that carry an internal IPv4
// address inside an IPv6 one (NAT64, 6to4, IPv4-compatible) reach that
// address on networks that translate them, and other ranges no provider
// lives in are refused too: the rule is egress.CheckAddr, the webhooks'.
func TestPublicOnlyEmbeddedIPv4(t *testing.T) {
	for _, addr := range []string{
		"[64:ff9b::a9fe:a9fe]:80", // NAT64 -> 169.254.169.254
		"[64:ff9b::7f00:1]:443",   // NAT64 -> 127.0.0.1
		"[64:ff9b:1::a00:1]:443",  // local-use NAT64 (RFC 8215)
		"[2002:a9fe:a9fe::1]:80",  // 6to4 of 169.254.169.254
		"[::a9fe:a9fe]:80",        // IPv4-compatible (deprecated)
		"[2001:db8::1]:443",       // documentation
		"198.18.0.1:443",          // benchmarking
		"240.0.0.1:443",           // reserved
		"255.255.255.255:443",     // broadcast
		"100.64.0.1:443",          // carrier-grade NAT
	} {
		if err := publicOnly("tcp", addr, nil); err == nil {
			t.Errorf("publicOnly lets production connect to %s", addr)
		}
	}
	if err := publicOnly("tcp", "[2606:4700::1111]:443", nil); err != nil {
		t.Errorf("a public address: %v", err)
	}
}
