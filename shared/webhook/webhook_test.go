package webhook

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

func TestParseEvents(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string // nil: refused
	}{
		{[]string{"*"}, []string{"*"}},
		{[]string{"user.created", "login.failed", "user.created"}, []string{"login.failed", "user.created"}},
		{[]string{"webhook.disabled"}, []string{"webhook.disabled"}},
		{nil, nil},
		{[]string{}, nil},
		{[]string{"*", "login.failed"}, nil},
		{[]string{"*", "*"}, nil},
		{[]string{"login.failed", "user.exploded"}, nil},
		{[]string{TestEvent}, nil}, // sent to one endpoint on demand, never subscribed to
		{[]string{""}, nil},
	} {
		got, err := ParseEvents(c.in)
		if c.want == nil {
			if e, ok := apperr.As(err); !ok || !errors.Is(err, apperr.ErrInvalid) || e.Fields[0].Field != "events" {
				t.Errorf("ParseEvents(%q) = %q, %v; want a refusal of events", c.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseEvents(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(a), SecretPrefix))
	if !strings.HasPrefix(string(a), "whsec_") || err != nil || len(raw) != 32 || a == b {
		t.Fatalf("secrets %q, %q: %v", a, b, err)
	}
}

func TestCheckDescription(t *testing.T) {
	if CheckDescription(strings.Repeat("d", 256)) != nil || CheckDescription(strings.Repeat("d", 257)) == nil {
		t.Fatal("the description's limit is 256 bytes")
	}
	if CheckDescription("billing \u202ekooh") == nil || CheckDescription("") != nil {
		t.Fatal("a description with a right-to-left override passed, or an empty one failed")
	}
}
