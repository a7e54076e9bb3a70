package totp

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// RFC 6238, appendix B: the SHA-1 seed "12345678901234567890", whose
// 8-digit codes end in these 6 digits.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestCodesOfRFC6238(t *testing.T) {
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		got, err := Code(rfcSecret, time.Unix(unix, 0))
		if err != nil || got != want {
			t.Errorf("T=%d: %q, %v; want %q", unix, got, err, want)
		}
	}
}

func TestMatchStepAllowsOneStepOfSkew(t *testing.T) {
	a := Authenticator{Issuer: "x"}
	now := time.Unix(1111111109, 0)
	for offset, want := range map[int]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		at := now.Add(time.Duration(offset) * Period)
		code, _ := Code(rfcSecret, at)
		step, ok := a.MatchStep(rfcSecret, code, now)
		if ok != want || ok && step != Step(at) {
			t.Errorf("offset %d: step %d, %v", offset, step, ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "08180４"} {
		if _, ok := a.MatchStep(rfcSecret, bad, now); ok {
			t.Errorf("%q matched", bad)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a := Authenticator{Issuer: "cleanslice"}
	s1, uri, err := a.NewSecret("alice.smith")
	s2, _, _ := a.NewSecret("alice.smith")
	if err != nil || len(s1) != 32 || s1 == s2 {
		t.Fatalf("secrets %q %q, %v", s1, s2, err)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/cleanslice:alice.smith" {
		t.Fatalf("uri %q", uri)
	}
	q := u.Query()
	if q.Get("secret") != s1 || q.Get("issuer") != "cleanslice" || q.Get("digits") != "6" || q.Get("period") != "30" || !strings.EqualFold(q.Get("algorithm"), "SHA1") {
		t.Fatalf("uri %q", uri)
	}
}
