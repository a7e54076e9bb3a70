package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"
)

func TestSecrets(t *testing.T) {
	secret, id := NewSecret()
	secret2, _ := NewSecret()
	if secret == secret2 {
		t.Fatal("two secrets are equal")
	}
	got, err := IDFromSecret(secret)
	if err != nil || !bytes.Equal(got, id) || len(id) != 32 {
		t.Fatalf("IDFromSecret = %x, %v; want %x", got, err, id)
	}
	if bytes.Contains(id, []byte(secret)) {
		t.Fatal("the id contains the secret")
	}
	for _, bad := range []string{"", "short", secret + "A", "!!" + secret[2:]} {
		if _, err := IDFromSecret(bad); !errors.Is(err, ErrMalformedSecret) {
			t.Errorf("IDFromSecret(%q) = %v, want ErrMalformedSecret", bad, err)
		}
	}
}

func TestRenewal(t *testing.T) {
	p := Policy{TTL: 15 * time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := p.Start([]byte("id"), uuid.Nil, t0)
	if !s.ExpiresAt.Equal(t0.Add(15*time.Minute)) || !s.AbsoluteExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Start = %+v", s)
	}
	// Outside the refresh window (more than 3 of 15 minutes left): no renewal.
	if _, ok := p.Renew(s, t0.Add(11*time.Minute)); ok {
		t.Error("renewed outside the refresh window")
	}
	// Inside it: extended to now + TTL.
	now := t0.Add(12 * time.Minute)
	r, ok := p.Renew(s, now)
	if !ok || !r.ExpiresAt.Equal(now.Add(15*time.Minute)) || !r.LastSeenAt.Equal(now) {
		t.Fatalf("Renew inside the window = %+v, %v", r, ok)
	}
	// Never past the absolute expiry.
	late := s
	late.ExpiresAt = t0.Add(55 * time.Minute)
	r, ok = p.Renew(late, t0.Add(54*time.Minute))
	if !ok || !r.ExpiresAt.Equal(s.AbsoluteExpiresAt) {
		t.Fatalf("Renew near the absolute expiry = %+v, %v", r, ok)
	}
	// At the absolute expiry there is nothing left to extend.
	if _, ok := p.Renew(r, t0.Add(59*time.Minute)); ok {
		t.Error("renewed a session already at its absolute expiry")
	}
}

func TestExpired(t *testing.T) {
	p := Policy{TTL: time.Minute, RefreshRatio: 0.2, AbsoluteTTL: time.Hour}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := p.Start(nil, uuid.Nil, t0)
	if s.Expired(t0.Add(59 * time.Second)) {
		t.Error("expired early")
	}
	if !s.Expired(t0.Add(time.Minute)) {
		t.Error("not expired at ExpiresAt")
	}
	s.ExpiresAt = t0.Add(2 * time.Hour)
	if !s.Expired(t0.Add(time.Hour)) {
		t.Error("not expired at the absolute expiry")
	}
}

func TestCleanUserAgent(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	for in, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64)":  "Mozilla/5.0 (X11; Linux x86_64)",
		"evil\r\nInjected: header\x00\x7f": "evilInjected: header",
		"":                                 "",
		long:                               strings.Repeat("é", 128),
		"bad \xff byte":                    "bad  byte",
	} {
		if got := CleanUserAgent(in); got != want {
			t.Errorf("CleanUserAgent(%q) = %q, want %q", in, got, want)
		}
	}
}
