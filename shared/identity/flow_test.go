package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"
)

func TestCheckReturnTo(t *testing.T) {
	trusted := []string{"https://app.example.com"}
	for raw, want := range map[string]string{
		"":                                  "/",
		"/":                                 "/",
		"/account?tab=identities":           "/account?tab=identities",
		"https://app.example.com":           "https://app.example.com",
		"https://app.example.com/signed-in": "https://app.example.com/signed-in",
	} {
		if got, err := CheckReturnTo(raw, trusted); err != nil || got != want {
			t.Errorf("CheckReturnTo(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"//evil.example.com/x",                     // another host, scheme-relative
		"/\\evil.example.com",                      // read as //evil by browsers
		"\\\\evil.example.com",                     // likewise
		"https://evil.example.com/",                // not trusted
		"http://app.example.com/",                  // another scheme: another origin
		"https://app.example.com:8443/",            // another port
		"https://app.example.com.evil.example/",    // a look-alike
		"https://user@app.example.com/",            // user info
		"javascript:alert(1)",                      // not http(s)
		"account",                                  // relative
		"/account#section",                         // the callback writes the fragment
		"/account\nLocation: https://evil.example", // a header injection
		"/" + strings.Repeat("a", 2048),            // too long
	} {
		if got, err := CheckReturnTo(raw, trusted); !errors.Is(err, ErrReturnToForbidden) {
			t.Errorf("CheckReturnTo(%q) = %q, %v; want refused", raw, got, err)
		}
	}
}

type fakeSealer struct{}

func (fakeSealer) Seal(id uuid.UUID, s string) []byte { return []byte(id.String() + ":" + s) }
func (fakeSealer) Open(id uuid.UUID, b []byte) (string, bool, error) {
	s, ok := strings.CutPrefix(string(b), id.String()+":")
	if !ok {
		return "", false, errors.New("sealed for another flow")
	}
	return s, false, nil
}

type fakeAuthorizer struct{ got Secrets }

func (a *fakeAuthorizer) AuthURL(_ context.Context, provider string, s Secrets) (string, error) {
	a.got = s
	return "https://idp.example.com/authorize?state=" + url.QueryEscape(s.State), nil
}

// TestBegin: a flow keeps digests of its state and binding, the verifier
// sealed, its purpose, owner and return_to, for FlowTTL; the secrets are
// fresh every time and long enough for PKCE.
func TestBegin(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	fl := Flows{TrustedOrigins: []string{"https://app.example.com"}, Sealer: fakeSealer{}}
	a := &fakeAuthorizer{}
	owner := uuid.Must(uuid.NewV7())
	s, err := fl.Begin(context.Background(), a, "corp", PurposeLink, owner, "/settings", now)
	if err != nil {
		t.Fatal(err)
	}
	f := s.Flow
	if string(f.StateHash) != string(Digest(a.got.State)) || !f.Binds(s.Binding) || f.Binds(a.got.State) || f.Binds("") ||
		f.Nonce != a.got.Nonce || f.Provider != "corp" || f.Purpose != PurposeLink || f.UserID != owner || f.ReturnTo != "/settings" ||
		!f.ExpiresAt.Equal(now.Add(FlowTTL)) || !strings.Contains(s.URL, url.QueryEscape(a.got.State)) {
		t.Fatalf("flow %+v, started %+v, secrets %+v", f, s, a.got)
	}
	if v, err := fl.Verifier(f); err != nil || v != a.got.Verifier || string(f.Verifier) == v {
		t.Fatalf("verifier %q, %v", v, err)
	}
	if len(a.got.Verifier) < 43 || len(a.got.State) < 43 || len(a.got.Nonce) < 43 {
		t.Fatalf("short secrets: %+v", a.got)
	}
	again, _ := fl.Begin(context.Background(), a, "corp", PurposeSignIn, uuid.Nil, "", now)
	if again.Binding == s.Binding || string(again.Flow.StateHash) == string(f.StateHash) || again.Flow.Nonce == f.Nonce || again.Flow.ReturnTo != "/" {
		t.Fatal("a second flow repeats the first's secrets")
	}
	if _, err := fl.Begin(context.Background(), a, "corp", PurposeSignIn, uuid.Nil, "https://evil.example.com/", now); !errors.Is(err, ErrReturnToForbidden) {
		t.Fatalf("an open redirect: %v", err)
	}
}
