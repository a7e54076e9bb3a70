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
	j := NewJWT(key, clock(t0))
	tok, err := j.Issue("secret-1", t0, t0.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sid, err := j.Parse(tok)
	if err != nil || sid != "secret-1" {
		t.Fatalf("Parse = %q, %v", sid, err)
	}
}

func TestRejectedTokens(t *testing.T) {
	j := NewJWT(key, clock(t0))
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
		if sid, err := j.Parse(tok); !errors.Is(err, ErrInvalid) {
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
	c := NewCookies(NewJWT(key, clock(t0)), CookieConfig{Name: "access_token", Secure: true, SameSite: "lax"})
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
	if sid, err := c.Read(req); err != nil || sid != "secret" {
		t.Fatalf("Read = %q, %v", sid, err)
	}

	rec = httptest.NewRecorder()
	c.Clear(rec)
	cleared := rec.Result().Cookies()[0]
	if cleared.MaxAge != -1 || cleared.Value != "" || !cleared.HttpOnly || !cleared.Secure || cleared.Path != "/" || cleared.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cleared cookie: %+v", cleared)
	}
	if _, err := c.Read(httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, ErrNoCookie) || !c.Absent(err) {
		t.Fatalf("Read without a cookie = %v", err)
	}
	bad := httptest.NewRequest(http.MethodGet, "/", nil)
	bad.AddCookie(&http.Cookie{Name: "access_token", Value: "forged"})
	if _, err := c.Read(bad); !errors.Is(err, ErrInvalid) || c.Absent(err) {
		t.Fatalf("Read with a forged cookie = %v", err)
	}
}
