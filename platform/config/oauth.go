package config

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
)

// OAuth configures sign-in with identity providers (SPEC 4d).
type OAuth struct {
	Providers []OAuthProvider
}

// The kinds of identity providers.
const (
	KindOIDC   = "oidc"   // any OpenID provider, by discovery
	KindGitHub = "github" // OAuth 2 and GitHub's user and emails API
	KindApple  = "apple"  // Sign in with Apple: OpenID, form_post, an ES256 client secret
)

// OAuthProvider is one [[oauth.providers]] table.
type OAuthProvider struct {
	ID           string // a slug: the provider's routes and identities name it
	Name         string // what a sign-in button says
	Kind         string // oidc, github or apple
	Issuer       string // oidc, apple: the issuer URL (discovery at /.well-known/openid-configuration)
	ClientID     string
	ClientSecret string   // apple: the .p8 private key (PEM) the client secret is signed with
	Scopes       []string // requested; openid is added for oidc and apple
	ResponseMode string   // query or form_post
	AllowSignup  bool     // a new identity may create an account
	TrustEmail   bool     // its verified-address claim may verify an address here
	LinkByEmail  string   // never or verified
	BaseURL      string   // github: https://github.com, or a GitHub Enterprise server
	APIURL       string   // github: https://api.github.com, or the server's /api/v3
	TeamID       string   // apple: the Apple developer team id (the client secret's issuer)
	KeyID        string   // apple: the id of the .p8 key
}

// providerKeys are the keys a provider table may hold.
var providerKeys = []string{"id", "name", "kind", "issuer", "client_id", "client_secret", "client_secret_file", "scopes",
	"response_mode", "allow_signup", "trust_email", "link_by_email", "base_url", "api_url", "team_id", "key_id"}

var providerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ProviderSecretEnv is the environment variable that gives the client
// secret of provider id (CLEANSLICE_OAUTH_<ID>_CLIENT_SECRET, - as _);
// with _FILE appended it names a file that holds it.
func ProviderSecretEnv(id string) string {
	return EnvPrefix + "_OAUTH_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_CLIENT_SECRET"
}

// providers reads oauth.providers: TOML tables, or from the environment
// (CLEANSLICE_OAUTH_PROVIDERS) a JSON array of objects with the same keys.
func (p *parser) providers(getenv func(string) string) []OAuthProvider {
	val, src := p.raw("oauth.providers")
	var tables []any
	switch x := val.(type) {
	case string:
		if err := json.Unmarshal([]byte(x), &tables); err != nil {
			p.problem("%s must be a JSON array of provider objects: %v", src, err)
			return nil
		}
	case []any:
		tables = x
	case []map[string]any:
		for _, m := range x {
			tables = append(tables, m)
		}
	default:
		p.problem("%s must be a list of [[oauth.providers]] tables", src)
		return nil
	}
	var out []OAuthProvider
	for n, t := range tables {
		m, ok := t.(map[string]any)
		if !ok {
			p.problem("oauth.providers[%d] must be a table", n)
			continue
		}
		out = append(out, p.provider(n, m, getenv))
	}
	return out
}

// provider reads one provider table, with the defaults of its kind.
func (p *parser) provider(n int, m map[string]any, getenv func(string) string) OAuthProvider {
	name := fmt.Sprintf("oauth.providers[%d]", n)
	str := func(k string) string {
		switch v := m[k].(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(v)
		default:
			p.problem("%s.%s must be a string", name, k)
			return ""
		}
	}
	boolean := func(k string, def bool) bool {
		switch v := m[k].(type) {
		case nil:
			return def
		case bool:
			return v
		default:
			p.problem("%s.%s must be true or false", name, k)
			return def
		}
	}
	o := OAuthProvider{
		ID: str("id"), Name: str("name"), Kind: strings.ToLower(str("kind")), Issuer: strings.TrimRight(str("issuer"), "/"),
		ClientID: str("client_id"), ResponseMode: strings.ToLower(str("response_mode")),
		AllowSignup: boolean("allow_signup", true), TrustEmail: boolean("trust_email", false), LinkByEmail: strings.ToLower(str("link_by_email")),
		BaseURL: strings.TrimRight(str("base_url"), "/"), APIURL: strings.TrimRight(str("api_url"), "/"), TeamID: str("team_id"), KeyID: str("key_id"),
	}
	if o.ID != "" {
		name = "oauth.providers[" + o.ID + "]"
	}
	for k := range m {
		if !slices.Contains(providerKeys, k) {
			p.problem("%s.%s: unknown key", name, k)
		}
	}
	switch v := m["scopes"].(type) {
	case nil:
	case []any:
		for _, s := range v {
			if s, ok := s.(string); ok && strings.TrimSpace(s) != "" {
				o.Scopes = append(o.Scopes, strings.TrimSpace(s))
			} else {
				p.problem("%s.scopes must be a list of strings", name)
			}
		}
	default:
		p.problem("%s.scopes must be a list of strings", name)
	}
	o.ClientSecret = p.providerSecret(name, o.ID, str("client_secret"), str("client_secret_file"), getenv)
	if o.Name == "" {
		o.Name = o.ID
	}
	if o.LinkByEmail == "" {
		o.LinkByEmail = "never"
	}
	switch o.Kind {
	case KindOIDC:
		if o.Scopes == nil {
			o.Scopes = []string{"openid", "email", "profile"}
		}
	case KindGitHub:
		if o.BaseURL == "" {
			o.BaseURL = "https://github.com"
		}
		if o.APIURL == "" {
			o.APIURL = "https://api.github.com"
			if o.BaseURL != "https://github.com" {
				o.APIURL = o.BaseURL + "/api/v3" // GitHub Enterprise Server
			}
		}
		if o.Scopes == nil {
			o.Scopes = []string{"read:user", "user:email"}
		}
	case KindApple:
		if o.Issuer == "" {
			o.Issuer = "https://appleid.apple.com"
		}
		if o.Scopes == nil {
			o.Scopes = []string{"name", "email"}
		}
		if o.ResponseMode == "" {
			o.ResponseMode = "form_post"
		}
	}
	if o.ResponseMode == "" {
		o.ResponseMode = "query"
	}
	return o
}

// providerSecret is a provider's client secret from exactly one of: the
// table's client_secret, the file its client_secret_file names, the
// variable ProviderSecretEnv(id), or the file that variable with _FILE
// names (one trailing newline trimmed). Problems name the key and the
// path, never the content.
func (p *parser) providerSecret(name, id, inline, file string, getenv func(string) string) string {
	env, envFile := "", ""
	if id != "" {
		env, envFile = getenv(ProviderSecretEnv(id)), getenv(ProviderSecretEnv(id)+"_FILE")
	}
	var sources []string
	for _, s := range []struct{ what, val string }{
		{name + ".client_secret", inline}, {name + ".client_secret_file", file},
		{ProviderSecretEnv(id), env}, {ProviderSecretEnv(id) + "_FILE", envFile},
	} {
		if s.val != "" {
			sources = append(sources, s.what)
		}
	}
	switch len(sources) {
	case 0:
		p.problem("%s needs a client secret: client_secret_file (a mounted secret), %s or %s_FILE", name, ProviderSecretEnv(id), ProviderSecretEnv(id))
		return ""
	case 1:
	default:
		p.problem("%s: the client secret is set by %s; use one", name, strings.Join(sources, " and "))
		return ""
	}
	path, key := file, name+".client_secret_file"
	if envFile != "" {
		path, key = envFile, ProviderSecretEnv(id)+"_FILE"
	}
	if path == "" {
		return inline + env
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		p.problem("%s: cannot read %s=%s: %v", name, key, path, err)
		return ""
	}
	v := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(v, "\r")
}

// validate checks every provider: a unique slug id, a known kind with the
// settings it needs, URLs that are absolute (https in production, where
// the service's public URL must be https too), and a policy that means
// what it says.
func (o OAuth) validate(production bool, publicURL string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(o.Providers) > 0 && production && !strings.HasPrefix(publicURL, "https://") {
		add("http.public_url must be https in production when oauth.providers are configured (the providers send the browser back to it), not %q", publicURL)
	}
	seen := map[string]bool{}
	type trust struct {
		name        string
		trust       bool
		linkByEmail string
	}
	issuers := map[string]trust{} // an identity's issuer: the first provider of it
	for n, pr := range o.Providers {
		name := fmt.Sprintf("oauth.providers[%d]", n)
		if pr.ID != "" {
			name = "oauth.providers[" + pr.ID + "]"
		}
		switch {
		case !providerID.MatchString(pr.ID):
			add("%s.id must be a slug of 1-32 characters a-z, 0-9 and -, not %q", name, pr.ID)
		case seen[pr.ID]:
			add("%s: the id is used twice", name)
		}
		seen[pr.ID] = true
		if pr.ClientID == "" {
			add("%s.client_id is required", name)
		}
		checkURL := func(key, u string) {
			parsed, err := url.Parse(u)
			switch {
			case u == "":
				add("%s.%s is required", name, key)
			case err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" || parsed.RawQuery != "" || parsed.Fragment != "" || parsed.User != nil:
				add("%s.%s must be an absolute http(s) URL without query or fragment, not %q", name, key, u)
			case production && parsed.Scheme != "https":
				add("%s.%s must be https in production, not %q", name, key, u)
			}
		}
		switch pr.Kind {
		case KindOIDC:
			checkURL("issuer", pr.Issuer)
		case KindApple:
			checkURL("issuer", pr.Issuer)
			if pr.TeamID == "" || pr.KeyID == "" {
				add("%s: kind apple needs team_id and key_id (the client secret is signed with that .p8 key)", name)
			}
			if pr.ClientSecret != "" && !appleKey(pr.ClientSecret) {
				add("%s: the client secret of kind apple must be the .p8 private key Apple issued (PEM, PKCS #8, EC P-256)", name)
			}
			if pr.ResponseMode != "form_post" {
				add("%s.response_mode must be form_post for kind apple (Apple posts its answer when it gives a name or an address)", name)
			}
		case KindGitHub:
			checkURL("base_url", pr.BaseURL)
			checkURL("api_url", pr.APIURL)
			if pr.ResponseMode != "query" {
				add("%s.response_mode must be query for kind github", name)
			}
		default:
			add("%s.kind must be oidc, github or apple, not %q", name, pr.Kind)
		}
		// An identity is (issuer, subject): two providers of one issuer (one
		// OpenID provider answering in two response modes, say) share their
		// users' identities, so they must trust its address claims alike,
		// or one's trust_email and link_by_email would speak for the
		// other's sign-ins.
		iss := strings.TrimSuffix(cmp.Or(pr.Issuer, pr.BaseURL), "/")
		if pr.Kind == KindGitHub {
			iss = strings.TrimSuffix(pr.BaseURL, "/")
		}
		mine := trust{name, pr.TrustEmail, pr.LinkByEmail}
		if first, ok := issuers[iss]; !ok || iss == "" {
			issuers[iss] = mine
		} else if first.trust != mine.trust || first.linkByEmail != mine.linkByEmail {
			add("%s has the issuer of %s (%q) but not its trust_email and link_by_email: providers of one issuer share their identities, so they must trust its claims alike", name, first.name, iss)
		}
		if pr.ResponseMode != "query" && pr.ResponseMode != "form_post" {
			add("%s.response_mode must be query or form_post, not %q", name, pr.ResponseMode)
		}
		switch pr.LinkByEmail {
		case "never":
		case "verified":
			if !pr.TrustEmail {
				add("%s.link_by_email = verified needs trust_email = true: an address claim of a provider not trusted never links an account", name)
			}
		default:
			add("%s.link_by_email must be never or verified, not %q", name, pr.LinkByEmail)
		}
	}
	return problems
}

// appleKey reports whether pemText is an EC P-256 private key in PKCS #8
// PEM, as Apple's .p8 files are.
func appleKey(pemText string) bool {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		return false
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return false
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	return ok && ec.Curve == elliptic.P256()
}

// checkPublicURL checks http.public_url: an absolute http(s) URL, with a
// path at most, that the service's redirect URIs start with.
func checkPublicURL(u string) error {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" || parsed.RawQuery != "" || parsed.Fragment != "" || parsed.User != nil {
		return fmt.Errorf("http.public_url must be an absolute http(s) URL like https://api.example.com, not %q", u)
	}
	return nil
}
