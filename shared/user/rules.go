package user

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Username limits.
const (
	UsernameMinLen = 5
	UsernameMaxLen = 20
)

// PasswordMaxLen is the upper bound on password length in Unicode code points;
// the lower bound comes from configuration.
const PasswordMaxLen = 128

// The username rule failures, in the order they are checked.
var (
	ErrUsernameLength     = errors.New("username must be 5 to 20 characters long")
	ErrUsernameCharacters = errors.New("username may contain only letters A-Z a-z, digits 0-9 and . _ -")
	ErrUsernameEdges      = errors.New("username must start and end with a letter or a digit")
	ErrUsernameSeparators = errors.New("username must not contain two of . _ - in a row")
)

// CheckUsername returns the first rule that name breaks, or nil.
func CheckUsername(name string) error {
	if n := utf8.RuneCountInString(name); n < UsernameMinLen || n > UsernameMaxLen {
		return ErrUsernameLength
	}
	for i := 0; i < len(name); i++ {
		if !isAlnum(name[i]) && !isSeparator(name[i]) {
			return ErrUsernameCharacters
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return ErrUsernameEdges
	}
	for i := 1; i < len(name); i++ {
		if isSeparator(name[i]) && isSeparator(name[i-1]) {
			return ErrUsernameSeparators
		}
	}
	return nil
}

// ErrPasswordCommon is a new password among the CommonPasswords most common
// ones.
var ErrPasswordCommon = errors.New("password is too common: choose one that is not on lists of leaked passwords")

// CheckPassword returns the first rule a new password breaks, or nil: at
// least minLen and at most PasswordMaxLen code points, then not common
// (IsCommonPassword). Login never checks it: a password set before a rule
// existed still signs in.
func CheckPassword(password string, minLen int) error {
	n := utf8.RuneCountInString(password)
	if n < minLen {
		return fmt.Errorf("password must be at least %d characters long", minLen)
	}
	if n > PasswordMaxLen {
		return fmt.Errorf("password must be at most %d characters long", PasswordMaxLen)
	}
	if IsCommonPassword(password) {
		return ErrPasswordCommon
	}
	return nil
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func isSeparator(b byte) bool { return b == '.' || b == '_' || b == '-' }

// CheckCredentials checks a new account's username and password and returns
// one validation error listing every failing field, or nil.
func CheckCredentials(username, password string, minLen int) error {
	return CheckAccount(username, password, "", false, minLen)
}

// AccountRules are the configured rules of a new account.
type AccountRules struct {
	MinPasswordLen int
	EmailRequired  bool
}

// Check checks a new account's username, password and address (see
// CheckAccount).
func (r AccountRules) Check(username, password, email string) error {
	return CheckAccount(username, password, email, r.EmailRequired, r.MinPasswordLen)
}

// CheckAccount checks a new account: username, password and email address
// (optional unless required). It returns one validation error listing
// every failing field, or nil.
func CheckAccount(username, password, email string, emailRequired bool, minLen int) error {
	var fields []apperr.FieldError
	if err := CheckUsername(username); err != nil {
		fields = append(fields, apperr.FieldError{Field: "username", Message: err.Error()})
	}
	if err := CheckPassword(password, minLen); err != nil {
		fields = append(fields, apperr.FieldError{Field: "password", Message: err.Error()})
	}
	switch {
	case email == "" && emailRequired:
		fields = append(fields, apperr.FieldError{Field: "email", Message: "email is required"})
	case email != "":
		if err := CheckEmail(email); err != nil {
			fields = append(fields, apperr.FieldError{Field: "email", Message: err.Error()})
		}
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields...)
	}
	return nil
}

// EmailMaxLen is the longest address accepted, in bytes (RFC 5321's path
// limit less its angle brackets).
const EmailMaxLen = 254

// The email rule failures.
var (
	ErrEmailLength = fmt.Errorf("email must be at most %d bytes long", EmailMaxLen)
	ErrEmailSyntax = errors.New("email must be a plain address like name@example.com, with no name or brackets around it")
	ErrEmailASCII  = errors.New("email must be ASCII: write an internationalized domain in its xn-- form")
)

// CheckEmail returns the rule email breaks, or nil: at most EmailMaxLen
// bytes, ASCII, and exactly one plain local@domain address as net/mail
// parses it (no display name, no comments, no angle brackets). ASCII keeps case-insensitive uniqueness the same on
// both engines (SQLite's lower() folds only ASCII).
func CheckEmail(email string) error {
	if len(email) > EmailMaxLen {
		return ErrEmailLength
	}
	for i := 0; i < len(email); i++ {
		if email[i] >= utf8.RuneSelf {
			return ErrEmailASCII
		}
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Name != "" || a.Address != email {
		return ErrEmailSyntax
	}
	return nil
}

// PlainText reports whether s, a label a user gives to something others
// are shown in a list (an API key's or a passkey's name, a webhook's
// description), reads as what it is: valid UTF-8 without control
// characters or invisible formatting ones (a right-to-left override, a
// zero-width space: a name that reads other than it is). Zero-width
// joiners and non-joiners stay allowed: they join visible characters (an
// emoji sequence, a Persian word).
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, hidden)
}

func hidden(r rune) bool {
	return unicode.IsControl(r) || (unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d')
}
