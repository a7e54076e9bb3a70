package onetime

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cleanslice/cleanslice/shared/user"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestTokenCheck(t *testing.T) {
	u := user.User{ID: user.NewID(), Username: "alice", Email: "Alice@Example.com"}
	secret, tok := New(u.ID, VerifyEmail, u.Email, t0, time.Hour)
	if id, ok := IDOf(secret); !ok || string(id) != string(tok.ID) || len(secret) != 43 {
		t.Fatalf("secret %q does not name its token", secret)
	}
	if err := tok.Check(VerifyEmail, u, t0.Add(59*time.Minute)); err != nil {
		t.Fatalf("a usable token: %v", err)
	}
	moved := u
	moved.Email = "alice@EXAMPLE.com" // the same address in another case: still the user's
	if err := tok.Check(VerifyEmail, moved, t0); err != nil {
		t.Fatalf("the address in another case: %v", err)
	}
	other := u
	other.Email = "new@example.com"
	used := tok
	used.UsedAt = t0
	for name, c := range map[string]struct {
		tok     Token
		purpose Purpose
		u       user.User
		at      time.Time
	}{
		"expired":         {tok, VerifyEmail, u, t0.Add(time.Hour)},
		"used":            {used, VerifyEmail, u, t0},
		"another purpose": {tok, Recovery, u, t0},
		"address changed": {tok, VerifyEmail, other, t0},
		"another user":    {tok, VerifyEmail, user.User{ID: user.NewID(), Email: u.Email}, t0},
	} {
		if err := c.tok.Check(c.purpose, c.u, c.at); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{"", "short", secret + "A", strings.Repeat("!", 43), secret[:42] + "="} {
		if _, ok := IDOf(bad); ok {
			t.Errorf("IDOf(%q) accepted", bad)
		}
	}
}

func TestVerificationMessage(t *testing.T) {
	u := user.User{ID: user.NewID(), Username: "alice"}
	l := Links{VerificationURL: "https://app.example.com/verify#token={token}", VerificationTTL: 24 * time.Hour}
	tok, m := l.Verification(u, "alice@example.com", t0)
	link := m.Fields["link"]
	secret := strings.TrimPrefix(link, "https://app.example.com/verify#token=")
	if id, ok := IDOf(secret); !ok || string(id) != string(tok.ID) {
		t.Fatalf("the link %q does not carry the token", link)
	}
	if m.To != "alice@example.com" || m.Template != "verify_email" || !m.Secret || !m.Expires.Equal(t0.Add(24*time.Hour)) ||
		m.Fields["username"] != "alice" || m.Fields["valid_for"] != "24 hours" || tok.Email != "alice@example.com" || tok.Purpose != VerifyEmail {
		t.Fatalf("message %+v, token %+v", m, tok)
	}
	for d, want := range map[time.Duration]string{time.Hour: "1 hour", 30 * time.Minute: "30 minutes", 90 * time.Minute: "90 minutes", 48 * time.Hour: "48 hours"} {
		if got := ValidFor(d); got != want {
			t.Errorf("ValidFor(%s) = %q, want %q", d, got, want)
		}
	}
}
