// Package token issues and checks the session JWT (HS256 only) and carries
// it in the session cookie.
package token

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the iss claim of every token.
const Issuer = "cleanslice"

// JWT signs and verifies session tokens. The session secret travels in the
// sid claim; iat, exp and iss are always set and checked.
type JWT struct {
	key    []byte
	parser *jwt.Parser
}

type claims struct {
	SID string `json:"sid"`
	jwt.RegisteredClaims
}

// NewJWT returns a codec using key. now is the clock expiry is checked
// against.
func NewJWT(key string, now func() time.Time) *JWT {
	return &JWT{
		key: []byte(key),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(Issuer),
			jwt.WithTimeFunc(now),
		),
	}
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
	s, err := t.SignedString(j.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ErrInvalid is returned for every token that is not one of ours, valid now.
var ErrInvalid = errors.New("invalid session token")

// Parse verifies a token and returns its session secret.
func (j *JWT) Parse(token string) (string, error) {
	var c claims
	_, err := j.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return j.key, nil })
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.SID == "" {
		return "", fmt.Errorf("%w: no sid claim", ErrInvalid)
	}
	return c.SID, nil
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

// Read returns the session secret in the request's cookie: ErrNoCookie when
// there is none, an error wrapping ErrInvalid when it is not a valid token.
func (c *Cookies) Read(r *http.Request) (string, error) {
	ck, err := r.Cookie(c.cfg.Name)
	if err != nil {
		return "", ErrNoCookie
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
