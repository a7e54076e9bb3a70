package cursor

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tok := Encode("updated_at", "desc", "2026-11-24T10:00:00.123456Z", "0193a1b2-0000-7000-8000-000000000001")
	got, err := Decode(tok, 4)
	if err != nil || len(got) != 4 || got[0] != "updated_at" || got[3] != "0193a1b2-0000-7000-8000-000000000001" {
		t.Fatalf("Decode = %q, %v", got, err)
	}
}

func TestRefused(t *testing.T) {
	tok := Encode("username", "asc", "alice")
	flipped := []byte(tok)
	flipped[3] ^= 1
	for name, s := range map[string]string{
		"empty":         "",
		"not base64":    "not a cursor!",
		"padded":        tok + "=",
		"one byte off":  string(flipped),
		"cut short":     tok[:len(tok)-2],
		"wrong count":   Encode("username", "asc"),
		"not an array":  enc.EncodeToString([]byte(`{"a":1}xxxxxx`)),
		"checksum only": enc.EncodeToString([]byte("123456")),
	} {
		want := 3
		if _, err := Decode(s, want); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Decode(%q) = %v, want ErrInvalid", name, s, err)
		}
	}
}
