package user

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPasswordRefusesCommonOnes(t *testing.T) {
	tests := []struct {
		password string
		minLen   int
		want     error
	}{
		// Common, in any case.
		{"password", 8, ErrPasswordCommon},
		{"PASSWORD", 8, ErrPasswordCommon},
		{"PassWord", 8, ErrPasswordCommon},
		{"iloveyou", 8, ErrPasswordCommon},
		{"Jennifer", 8, ErrPasswordCommon}, // a name too: zxcvbn's built list leaves these out
		{"1qaz2wsx", 8, ErrPasswordCommon},
		{"TrustNo1", 8, ErrPasswordCommon},
		{"12345678900987654321", 8, ErrPasswordCommon}, // the longest listed
		{"vasilina", 8, ErrPasswordCommon},             // the 30,000th
		{"abc123", 6, ErrPasswordCommon},               // short ones too, when the minimum lets them through
		// Near misses and the rest: accepted.
		{"chihuahua", 8, nil}, // just past the 30,000th in the source list
		{"password!", 8, nil},
		{"password12345", 8, nil},
		{" password", 8, nil},
		{"password ", 8, nil},
		{"pass word", 8, nil},
		{"sunshine7", 8, nil},
		{"kX9#mQ2$vL7@pR4!wT", 8, nil},
		{"correct horse battery staple", 8, nil},
		{strings.Repeat("é", 8), 8, nil},
	}
	for _, tc := range tests {
		if err := CheckPassword(tc.password, tc.minLen); !errors.Is(err, tc.want) {
			t.Errorf("CheckPassword(%q, %d) = %v, want %v", tc.password, tc.minLen, err, tc.want)
		}
	}
	// Length first: a common password too short or too long breaks the
	// length rule.
	for _, pw := range []string{"abc123", "", strings.Repeat("a", 129)} {
		if err := CheckPassword(pw, 8); err == nil || errors.Is(err, ErrPasswordCommon) || !strings.Contains(err.Error(), "characters long") {
			t.Errorf("CheckPassword(%d runes) = %v, want the length rule", len(pw), err)
		}
	}
	if !strings.HasPrefix(ErrPasswordCommon.Error(), "password is too common") {
		t.Errorf("message %q does not say the password is too common", ErrPasswordCommon)
	}
}

// TestCommonPasswordList: the embedded list is CommonPasswords distinct
// passwords in lower-case ASCII, none longer than the longest the lookup
// reads, and every one of them is refused.
func TestCommonPasswordList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n")
	if len(lines) != CommonPasswords {
		t.Fatalf("%d passwords, want %d", len(lines), CommonPasswords)
	}
	seen := make(map[string]bool, len(lines))
	for i, p := range lines {
		if p == "" || len(p) > commonPasswordMaxLen || p != strings.ToLower(p) || seen[p] {
			t.Fatalf("line %d %q: empty, longer than %d bytes, not lower case, or twice", i+1, p, commonPasswordMaxLen)
		}
		for j := 0; j < len(p); j++ {
			if p[j] <= ' ' || p[j] > '~' {
				t.Fatalf("line %d %q: not printable ASCII", i+1, p)
			}
		}
		seen[p] = true
		if !IsCommonPassword(p) || !IsCommonPassword(strings.ToUpper(p)) {
			t.Fatalf("line %d %q is not refused in both cases", i+1, p)
		}
	}
}

// BenchmarkCommonPassword is the check's cost per call, on a mix of listed
// passwords, mixed-case ones and unlisted ones (target: under 5 us).
func BenchmarkCommonPassword(b *testing.B) {
	inputs := []string{"password", "Jennifer", "kX9#mQ2$vL7@pR4!wT", "12345678900987654321", "correct horse battery staple", "chihuahua"}
	IsCommonPassword("") // index the list before timing
	i := 0
	for b.Loop() {
		IsCommonPassword(inputs[i%len(inputs)])
		i++
	}
}
