// Package token issues and checks the session JWT (HS256 only) and carries
// it in the session cookie.
//
// Secrets rotate by generation: the current secret signs, previous ones
// only verify. Every token names the secret that signed it in its kid
// header (an id derived from the secret, never the secret), so verifying
// costs one HMAC whatever the number of secrets, and a token naming an
// unknown secret is refused before any.
package token

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Secrets are the signing key generations.
type Secrets struct {
	Current  string
	Previous []string
}

// KeyID returns the kid that names secret: 8 bytes of a SHA-256 of it,
// base64url.
func KeyID(secret string) string {
	sum := sha256.Sum256([]byte("cleanslice jwt key id\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// Issuer is the iss claim of every token.
const Issuer = "cleanslice"

// JWT signs and verifies session tokens. The session secret travels in the
// sid claim; iat, exp and iss are always set and checked.
type JWT struct {
	key     []byte            // the current secret
	kid     string            // and its id
	keys    map[string][]byte // every configured secret by id
	legacy  []byte            // the secret of tokens without a kid
	parser  *jwt.Parser
	keyFunc jwt.Keyfunc
	now     func() time.Time

	// Tokens verified before, until their exp: the HMAC and the JSON
	// decoding are done once per token, not per request. Keyed by the
	// whole token, signature included; bounded by clearing it when full.
	// It never replaces the session lookup, so revocation stays immediate.
	verified  sync.Map // token -> verifiedToken
	verifiedN atomic.Int64
}

type verifiedToken struct {
	sid   string
	exp   time.Time
	stale bool
}

// maxVerified bounds the verified-token cache (about 300 bytes a token).
const maxVerified = 10_000

type claims struct {
	SID string `json:"sid"`
	jwt.RegisteredClaims
}

// NewJWT returns a codec signing with secrets.Current and verifying with
// every generation. Tokens issued before key ids mean secrets.Previous[0]
// when there is one, else the current secret. now is the clock expiry is
// checked against.
func NewJWT(secrets Secrets, now func() time.Time) *JWT {
	j := &JWT{
		key:    []byte(secrets.Current),
		kid:    KeyID(secrets.Current),
		keys:   map[string][]byte{},
		legacy: []byte(secrets.Current),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(Issuer),
			jwt.WithTimeFunc(now),
		),
	}
	for _, sec := range append([]string{secrets.Current}, secrets.Previous...) {
		j.keys[KeyID(sec)] = []byte(sec)
	}
	if len(secrets.Previous) > 0 {
		j.legacy = []byte(secrets.Previous[0])
	}
	j.keyFunc = j.keyFor
	j.now = now
	return j
}

var errUnknownKey = errors.New("signed with a secret that is not configured")

// keyFor returns the secret the token's kid names.
func (j *JWT) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return j.legacy, nil
	}
	if k, ok := j.keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKey
}

// Issue returns a signed token for the session secret sid.
func (j *JWT) Issue(sid string, issuedAt, expiresAt time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		SID: sid,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ExpiresAt: jwt.NewNumericDate(expiresAt),
		},
	})
	t.Header["kid"] = j.kid
	s, err := t.SignedString(j.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ErrInvalid is returned for every token that is not one of ours, valid now.
var ErrInvalid = errors.New("invalid session token")

// Parse verifies a token and returns its session secret, and whether it
// was signed with another secret than the current one (it should then be
// re-issued).
func (j *JWT) Parse(token string) (sid string, stale bool, err error) {
	if v, ok := j.verified.Load(token); ok {
		if t := v.(verifiedToken); j.now().Before(t.exp) {
			return t.sid, t.stale, nil
		}
		j.verified.Delete(token)
	}
	var c claims
	t, err := j.parser.ParseWithClaims(token, &c, j.keyFunc)
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.SID == "" {
		return "", false, fmt.Errorf("%w: no sid claim", ErrInvalid)
	}
	kid, _ := t.Header["kid"].(string)
	stale = kid != j.kid
	if j.verifiedN.Add(1) > maxVerified {
		j.verified.Clear()
		j.verifiedN.Store(0)
	}
	j.verified.Store(token, verifiedToken{sid: c.SID, exp: c.ExpiresAt.Time, stale: stale})
	return c.SID, stale, nil
}

// CookieConfig is the session cookie's attributes.
type CookieConfig struct {
	Name     string
	Secure   bool
	SameSite string // lax, strict or none
}

// Cookies reads and writes the session cookie. HttpOnly and Path=/ always.
type Cookies struct {
	jwt *JWT
	cfg CookieConfig
}

// NewCookies returns the cookie adapter.
func NewCookies(j *JWT, cfg CookieConfig) *Cookies { return &Cookies{jwt: j, cfg: cfg} }

// ErrNoCookie is returned by Read for a request without a session cookie.
var ErrNoCookie = errors.New("no session cookie")

// Read returns the session secret in the request's cookie, and whether the
// cookie should be re-issued (signed with a previous secret): ErrNoCookie
// when there is none, an error wrapping ErrInvalid when it is not a valid
// token.
func (c *Cookies) Read(r *http.Request) (secret string, resign bool, err error) {
	ck, err := r.Cookie(c.cfg.Name)
	if err != nil {
		return "", false, ErrNoCookie
	}
	return c.jwt.Parse(ck.Value)
}

// Absent reports whether err from Read means there was no cookie at all.
func (c *Cookies) Absent(err error) bool { return errors.Is(err, ErrNoCookie) }

// Write sets the cookie to a token for sid that expires with the session.
func (c *Cookies) Write(w http.ResponseWriter, sid string, issuedAt, expiresAt time.Time) error {
	tok, err := c.jwt.Issue(sid, issuedAt, expiresAt)
	if err != nil {
		return err
	}
	ck := c.base()
	ck.Value = tok
	ck.Expires = expiresAt.UTC()
	ck.MaxAge = max(int(expiresAt.Sub(issuedAt).Seconds()), 1)
	http.SetCookie(w, ck)
	return nil
}

// Clear expires the cookie, with the attributes it was set with.
func (c *Cookies) Clear(w http.ResponseWriter) {
	ck := c.base()
	ck.Expires = time.Unix(0, 0)
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

func (c *Cookies) base() *http.Cookie {
	ss := http.SameSiteLaxMode
	switch c.cfg.SameSite {
	case "strict":
		ss = http.SameSiteStrictMode
	case "none":
		ss = http.SameSiteNoneMode
	}
	return &http.Cookie{Name: c.cfg.Name, Path: "/", HttpOnly: true, Secure: c.cfg.Secure, SameSite: ss}
}
