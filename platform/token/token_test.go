package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const key = "0123456789abcdef0123456789abcdef"

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func sign(t *testing.T, method jwt.SigningMethod, k any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueAndParse(t *testing.T) {
	j := NewJWT(Secrets{Current: key}, clock(t0))
	tok, err := j.Issue("secret-1", t0, t0.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sid, stale, err := j.Parse(tok)
	if err != nil || sid != "secret-1" || stale {
		t.Fatalf("Parse = %q, %v, %v", sid, stale, err)
	}
}

func TestRejectedTokens(t *testing.T) {
	j := NewJWT(Secrets{Current: key}, clock(t0))
	good := claims{SID: "s", RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(time.Minute))}}
	valid, _ := j.Issue("s", t0, t0.Add(time.Minute))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sid":"other","iss":"cleanslice","iat":1,"exp":9999999999}`)) + "." + parts[2]

	noExp := good
	noExp.ExpiresAt = nil
	noSID := good
	noSID.SID = ""
	otherIssuer := good
	otherIssuer.Issuer = "someone-else"
	futureIat := good
	futureIat.IssuedAt = jwt.NewNumericDate(t0.Add(time.Hour))

	tests := map[string]string{
		"alg none":      sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good),
		"HS512":         sign(t, jwt.SigningMethodHS512, []byte(key), good),
		"RS256":         sign(t, jwt.SigningMethodRS256, rsaKey, good),
		"tampered":      tampered,
		"wrong key":     sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 32)), good),
		"expired":       mustIssue(t, j, t0.Add(-time.Hour), t0.Add(-time.Second)),
		"no exp":        sign(t, jwt.SigningMethodHS256, []byte(key), noExp),
		"no sid":        sign(t, jwt.SigningMethodHS256, []byte(key), noSID),
		"other issuer":  sign(t, jwt.SigningMethodHS256, []byte(key), otherIssuer),
		"iat in future": sign(t, jwt.SigningMethodHS256, []byte(key), futureIat),
		"garbage":       "not.a.token",
		"empty":         "",
	}
	for name, tok := range tests {
		if sid, _, err := j.Parse(tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse = %q, %v; want ErrInvalid", name, sid, err)
		}
	}
}

func mustIssue(t *testing.T, j *JWT, iat, exp time.Time) string {
	t.Helper()
	s, err := j.Issue("s", iat, exp)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCookieAttributes(t *testing.T) {
	c := NewCookies(NewJWT(Secrets{Current: key}, clock(t0)), CookieConfig{Name: "access_token", Secure: true, SameSite: "lax"})
	rec := httptest.NewRecorder()
	if err := c.Write(rec, "secret", t0, t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	set := rec.Result().Cookies()
	if len(set) != 1 {
		t.Fatalf("%d cookies set", len(set))
	}
	ck := set[0]
	if ck.Name != "access_token" || !ck.HttpOnly || !ck.Secure || ck.Path != "/" || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 900 {
		t.Fatalf("cookie attributes: %+v", ck)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: "access_token", Value: ck.Value})
	if sid, resign, err := c.Read(req); err != nil || sid != "secret" || resign {
		t.Fatalf("Read = %q, %v", sid, err)
	}

	rec = httptest.NewRecorder()
	c.Clear(rec)
	cleared := rec.Result().Cookies()[0]
	if cleared.MaxAge != -1 || cleared.Value != "" || !cleared.HttpOnly || !cleared.Secure || cleared.Path != "/" || cleared.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cleared cookie: %+v", cleared)
	}
	if _, _, err := c.Read(httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, ErrNoCookie) || !c.Absent(err) {
		t.Fatalf("Read without a cookie = %v", err)
	}
	bad := httptest.NewRequest(http.MethodGet, "/", nil)
	bad.AddCookie(&http.Cookie{Name: "access_token", Value: "forged"})
	if _, _, err := c.Read(bad); !errors.Is(err, ErrInvalid) || c.Absent(err) {
		t.Fatalf("Read with a forged cookie = %v", err)
	}
}

// TestSecretGenerations: a token names its secret by kid; after a rotation
// a token of the previous secret verifies and is marked stale; once that
// secret is dropped, or for a kid nobody knows, it is refused; tokens
// without a kid mean the first previous secret.
func TestSecretGenerations(t *testing.T) {
	oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
	before := NewJWT(Secrets{Current: oldKey}, clock(t0))
	tok, _ := before.Issue("s", t0, t0.Add(time.Minute))
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if !strings.Contains(string(header), `"kid":"`+KeyID(oldKey)+`"`) || strings.Contains(string(header), oldKey) {
		t.Fatalf("header %s does not name its key by id", header)
	}
	rotated := NewJWT(Secrets{Current: newKey, Previous: []string{oldKey}}, clock(t0))
	if sid, stale, err := rotated.Parse(tok); err != nil || sid != "s" || !stale {
		t.Fatalf("old token after rotation: %q, stale %v, %v", sid, stale, err)
	}
	fresh, _ := rotated.Issue("s", t0, t0.Add(time.Minute))
	if _, stale, err := rotated.Parse(fresh); err != nil || stale {
		t.Fatalf("current token: stale %v, %v", stale, err)
	}
	dropped := NewJWT(Secrets{Current: newKey}, clock(t0))
	if _, _, err := dropped.Parse(tok); !errors.Is(err, ErrInvalid) || !errors.Is(err, errUnknownKey) {
		t.Fatalf("token of a dropped secret: %v", err)
	}
	// A kid that no secret has is refused before any HMAC: even the right
	// signature does not help.
	unknown := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{SID: "s", RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(time.Minute))}})
	unknown.Header["kid"] = "made-up"
	signed, _ := unknown.SignedString([]byte(newKey))
	if _, _, err := rotated.Parse(signed); !errors.Is(err, errUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
	// Tokens from before key ids.
	legacy := sign(t, jwt.SigningMethodHS256, []byte(oldKey), claims{SID: "s", RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(time.Minute))}})
	if _, stale, err := rotated.Parse(legacy); err != nil || !stale {
		t.Fatalf("token without kid after rotation: stale %v, %v", stale, err)
	}
	if _, stale, err := before.Parse(legacy); err != nil || !stale {
		t.Fatalf("token without kid, no rotation: stale %v, %v (a kid should be added)", stale, err)
	}
}

// TestVerifiedTokensExpire: a token verified once is served from the cache
// only until its exp, and a token differing in its signature is not.
func TestVerifiedTokensExpire(t *testing.T) {
	now := t0
	j := NewJWT(Secrets{Current: key}, func() time.Time { return now })
	tok, _ := j.Issue("s", t0, t0.Add(time.Minute))
	for range 2 {
		if sid, _, err := j.Parse(tok); err != nil || sid != "s" {
			t.Fatalf("Parse = %q, %v", sid, err)
		}
	}
	forged := tok[:len(tok)-2] + "AA"
	if _, _, err := j.Parse(forged); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a token with another signature: %v", err)
	}
	now = t0.Add(time.Minute)
	if _, _, err := j.Parse(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a cached token past its exp: %v", err)
	}
}
