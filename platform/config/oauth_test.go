package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// p8 is a fresh .p8 key as Apple issues them: PKCS #8 PEM of an EC P-256
// key.
func p8(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestProviders: each kind with its defaults, secrets from every source.
func TestProviders(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "apple.p8")
	if err := os.WriteFile(keyFile, []byte(p8(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "github")
	if err := os.WriteFile(secretFile, []byte("gh-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(writeFile(t, `
[http]
public_url = "https://api.example.com/"
[[oauth.providers]]
id = "corp"
kind = "oidc"
issuer = "https://idp.example.com/"
client_id = "cleanslice"
trust_email = true
link_by_email = "verified"
[[oauth.providers]]
id = "github"
name = "GitHub"
kind = "github"
client_id = "gh"
client_secret_file = "`+secretFile+`"
[[oauth.providers]]
id = "apple"
name = "Apple"
kind = "apple"
client_id = "com.example.web"
team_id = "TEAM123456"
key_id = "KEY1234567"
allow_signup = false
`), envOf(map[string]string{
		"CLEANSLICE_OAUTH_CORP_CLIENT_SECRET":       "corp-secret",
		"CLEANSLICE_OAUTH_APPLE_CLIENT_SECRET_FILE": keyFile,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.PublicURL != "https://api.example.com" {
		t.Errorf("public url %q", c.HTTP.PublicURL)
	}
	ps := c.OAuth.Providers
	if len(ps) != 3 {
		t.Fatalf("%d providers", len(ps))
	}
	corp, gh, apple := ps[0], ps[1], ps[2]
	if corp.Name != "corp" || corp.Issuer != "https://idp.example.com" || corp.ClientSecret != "corp-secret" || !slices.Equal(corp.Scopes, []string{"openid", "email", "profile"}) ||
		corp.ResponseMode != "query" || !corp.AllowSignup || !corp.TrustEmail || corp.LinkByEmail != "verified" {
		t.Errorf("oidc: %+v", corp)
	}
	if gh.ClientSecret != "gh-secret" || gh.BaseURL != "https://github.com" || gh.APIURL != "https://api.github.com" ||
		!slices.Equal(gh.Scopes, []string{"read:user", "user:email"}) || gh.TrustEmail || gh.LinkByEmail != "never" {
		t.Errorf("github: %+v", gh)
	}
	if apple.Issuer != "https://appleid.apple.com" || apple.ResponseMode != "form_post" || !strings.Contains(apple.ClientSecret, "PRIVATE KEY") || apple.AllowSignup {
		t.Errorf("apple: %+v", apple)
	}

	// GitHub Enterprise: the API under the server.
	c, err = Load(writeFile(t, `
[[oauth.providers]]
id = "ghe"
kind = "github"
base_url = "https://git.example.com"
client_id = "x"
client_secret = "y"
`), envOf(map[string]string{"CLEANSLICE_OAUTH_PROVIDERS": ""}))
	if err != nil || c.OAuth.Providers[0].APIURL != "https://git.example.com/api/v3" {
		t.Fatalf("enterprise: %+v, %v", c.OAuth.Providers, err)
	}

	// From the environment, a JSON array.
	c, err = Load(writeFile(t, ""), envOf(map[string]string{
		"CLEANSLICE_OAUTH_PROVIDERS":          `[{"id":"corp","kind":"oidc","issuer":"https://idp.example.com","client_id":"x"}]`,
		"CLEANSLICE_OAUTH_CORP_CLIENT_SECRET": "s",
	}))
	if err != nil || len(c.OAuth.Providers) != 1 || c.OAuth.Providers[0].ClientSecret != "s" {
		t.Fatalf("from the environment: %+v, %v", c.OAuth.Providers, err)
	}
}

// TestProviderProblems: every mistake is named, all at once.
func TestProviderProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := Load(writeFile(t, `
[[oauth.providers]]
id = "Bad Id"
kind = "oidc"
issuer = "idp.example.com"
client_id = "x"
client_secret = "y"
colour = "blue"
[[oauth.providers]]
id = "twice"
kind = "oidc"
issuer = "https://idp.example.com"
client_id = "x"
client_secret = "y"
client_secret_file = "/run/secrets/twice"
link_by_email = "verified"
[[oauth.providers]]
id = "twice"
kind = "saml"
client_id = "x"
client_secret_file = "`+missing+`"
[[oauth.providers]]
id = "apple"
kind = "apple"
client_id = "x"
client_secret = "not a key"
response_mode = "query"
[[oauth.providers]]
id = "nosecret"
kind = "github"
[[oauth.providers]]
id = "wide"
kind = "oidc"
issuer = "https://idp.example.com"
client_id = "x"
client_secret = "y"
link_by_email = "always"
response_mode = "fragment"
`), envOf(nil))
	got := strings.Join(problems(t, err), "\n")
	for _, want := range []string{
		`oauth.providers[Bad Id].id must be a slug`,
		`oauth.providers[Bad Id].colour: unknown key`,
		`oauth.providers[Bad Id].issuer must be an absolute http(s) URL`,
		`oauth.providers[twice]: the client secret is set by oauth.providers[twice].client_secret and oauth.providers[twice].client_secret_file; use one`,
		`oauth.providers[twice].link_by_email = verified needs trust_email = true`,
		`oauth.providers[twice]: the id is used twice`,
		`oauth.providers[twice].kind must be oidc, github or apple, not "saml"`,
		`oauth.providers[twice]: cannot read oauth.providers[twice].client_secret_file=` + missing,
		`oauth.providers[apple]: kind apple needs team_id and key_id`,
		`oauth.providers[apple]: the client secret of kind apple must be the .p8 private key`,
		`oauth.providers[apple].response_mode must be form_post for kind apple`,
		`oauth.providers[nosecret] needs a client secret`,
		`oauth.providers[nosecret].client_id is required`,
		`oauth.providers[wide].link_by_email must be never or verified, not "always"`,
		`oauth.providers[wide].response_mode must be query or form_post, not "fragment"`,
		`oauth.providers[wide] has the issuer of oauth.providers[twice] ("https://idp.example.com") but not its trust_email and link_by_email`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no problem %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not a key") {
		t.Errorf("a problem shows a secret:\n%s", got)
	}
}

// TestProvidersInProduction: production refuses http issuers and API URLs,
// and an http public URL once providers are configured.
func TestProvidersInProduction(t *testing.T) {
	provider := `
[[oauth.providers]]
id = "corp"
kind = "oidc"
issuer = "http://idp.example.com"
client_id = "x"
client_secret = "y"
[[oauth.providers]]
id = "ghe"
kind = "github"
base_url = "http://git.example.com"
client_id = "x"
client_secret = "y"
`
	_, err := Load(writeFile(t, "env = \"production\"\n"+provider), production(nil))
	got := strings.Join(problems(t, err), "\n")
	for _, want := range []string{
		`oauth.providers[corp].issuer must be https in production`,
		`oauth.providers[ghe].base_url must be https in production`,
		`oauth.providers[ghe].api_url must be https in production`,
		`http.public_url must be https in production when oauth.providers are configured`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no problem %q in:\n%s", want, got)
		}
	}
	// Without providers, production keeps the default public URL.
	if _, err := Load(writeFile(t, "env = \"production\"\n"), production(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(writeFile(t, "[http]\npublic_url = \"localhost:8000\"\n"), envOf(nil)); err == nil || !strings.Contains(err.Error(), "http.public_url must be an absolute") {
		t.Fatalf("a public url without scheme: %v", err)
	}
}
