package user

import (
	"errors"
	"strings"
	"testing"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

func TestCheckUsername(t *testing.T) {
	accepted := []string{
		"username", "user.name", "user-name", "user_name", "user123", "user.name123",
		"u.ser-name123", "u-ser_name", "u-ser.name", "abcde", strings.Repeat("a", 20), "12345", "UserName",
	}
	for _, name := range accepted {
		if err := CheckUsername(name); err != nil {
			t.Errorf("CheckUsername(%q) = %v, want nil", name, err)
		}
	}
	rejected := []struct {
		name string
		want error
	}{
		{"abcd", ErrUsernameLength},
		{strings.Repeat("a", 21), ErrUsernameLength},
		{"", ErrUsernameLength},
		{".username", ErrUsernameEdges},
		{"-username", ErrUsernameEdges},
		{"_username", ErrUsernameEdges},
		{"username.", ErrUsernameEdges},
		{"username-", ErrUsernameEdges},
		{"username_", ErrUsernameEdges},
		{"user..name", ErrUsernameSeparators},
		{"user--name", ErrUsernameSeparators},
		{"user__name", ErrUsernameSeparators},
		{"user._name", ErrUsernameSeparators},
		{"user!name", ErrUsernameCharacters},
		{"user@name", ErrUsernameCharacters},
		{"user#name", ErrUsernameCharacters},
		{"usérname", ErrUsernameCharacters},
		{" username", ErrUsernameCharacters},
		{"username ", ErrUsernameCharacters},
		// Length is checked first, then characters, then edges.
		{"ab!", ErrUsernameLength},
		{".user!", ErrUsernameCharacters},
	}
	for _, tc := range rejected {
		if err := CheckUsername(tc.name); !errors.Is(err, tc.want) {
			t.Errorf("CheckUsername(%q) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password string
		ok       bool
	}{
		{strings.Repeat("a", 7), false},
		{strings.Repeat("a", 8), true},
		{strings.Repeat("é", 8), true}, // code points, not bytes
		{strings.Repeat("é", 7), false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
	}
	for _, tc := range tests {
		if err := CheckPassword(tc.password, 8); (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%d runes) = %v, want ok=%v", len([]rune(tc.password)), err, tc.ok)
		}
	}
}

func TestRoleRank(t *testing.T) {
	ordered := RoleSuperAdmin.Rank() > RoleAdmin.Rank() && RoleAdmin.Rank() > RoleUser.Rank() && RoleUser.Rank() > Role("root").Rank()
	if !ordered {
		t.Fatal("role ranks are not ordered super_admin > admin > user > unknown")
	}
	if _, err := ParseRole("root"); !errors.Is(err, ErrUnknownRole) {
		t.Fatalf("ParseRole(root) = %v, want ErrUnknownRole", err)
	}
}

func TestCheckEmail(t *testing.T) {
	for email, want := range map[string]error{
		"alice@example.com":                       nil,
		"Alice.Smith+tag@Mail.Example.org":        nil,
		"a@localhost":                             nil,
		"Alice <alice@example.com>":               ErrEmailSyntax,
		"<alice@example.com>":                     ErrEmailSyntax,
		"alice@example.com (work)":                ErrEmailSyntax,
		"alice":                                   ErrEmailSyntax,
		"alice@":                                  ErrEmailSyntax,
		"@example.com":                            ErrEmailSyntax,
		"alice@example.com, bob@example.com":      ErrEmailSyntax,
		" alice@example.com":                      ErrEmailSyntax,
		"alice@exa mple.com":                      ErrEmailSyntax,
		"jürgen@example.com":                      ErrEmailASCII,
		"alice@bücher.de":                         ErrEmailASCII,
		strings.Repeat("a", 243) + "@example.com": ErrEmailLength,
		strings.Repeat("a", 242) + "@example.com": nil,
	} {
		if got := CheckEmail(email); !errors.Is(got, want) {
			t.Errorf("CheckEmail(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestCheckAccountEmail(t *testing.T) {
	if err := CheckAccount("alice", "quiet-lamp-1", "", false, 8); err != nil {
		t.Errorf("no address, none required: %v", err)
	}
	for _, c := range []struct {
		email    string
		required bool
		msg      string
	}{{"", true, "email is required"}, {"not an address", false, ErrEmailSyntax.Error()}} {
		err := CheckAccount("alice", "quiet-lamp-1", c.email, c.required, 8)
		e, ok := apperr.As(err)
		if !ok || len(e.Fields) != 1 || e.Fields[0].Field != "email" || e.Fields[0].Message != c.msg {
			t.Errorf("%q required=%v: %v", c.email, c.required, err)
		}
	}
}

// TestCheckAccountListsEveryField: a common password is one more failing
// field, listed with the others in their order.
func TestCheckAccountListsEveryField(t *testing.T) {
	err := CheckAccount(".bad.name", "Sunshine", "not an address", false, 8)
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) != 3 {
		t.Fatalf("CheckAccount = %v, want three fields", err)
	}
	want := []apperr.FieldError{
		{Field: "username", Message: ErrUsernameEdges.Error()},
		{Field: "password", Message: ErrPasswordCommon.Error()},
		{Field: "email", Message: ErrEmailSyntax.Error()},
	}
	for i, f := range want {
		if e.Fields[i] != f {
			t.Errorf("field %d = %+v, want %+v", i, e.Fields[i], f)
		}
	}
}

// TestPlainText: labels that show as what they are pass; control
// characters, invalid UTF-8 and invisible formatting (bidirectional
// overrides and isolates, zero-width spaces, a byte-order mark) do not,
// but for the joiners that join visible characters.
func TestPlainText(t *testing.T) {
	for s, want := range map[string]bool{
		"":                           true,
		"deploy (prod) — nightly":    true,
		"کار\u200cها":                true, // zero-width non-joiner: a Persian word
		"\U0001F468\u200d\U0001F4BB": true, // zero-width joiner: one emoji
		"tab\there":                  false,
		"nul\x00":                    false,
		"bad \xff":                   false,
		"a\u202eb":                   false, // right-to-left override
		"a\u2066b\u2069":             false, // left-to-right isolate
		"a\u200bb":                   false, // zero-width space
		"\ufeffbom":                  false,
		"a\u00adb":                   false, // soft hyphen
	} {
		if got := PlainText(s); got != want {
			t.Errorf("PlainText(%q) = %v, want %v", s, got, want)
		}
	}
}
