package user

import (
	_ "embed" // the common-password list
	"strings"
	"sync"
	"unicode/utf8"
)

//go:generate go run gen_common.go

// CommonPasswords is how many of the most common passwords are refused.
const CommonPasswords = 30000

// commonPasswordsText is the 30,000 most common passwords, the most common
// first, lower case, one a line; where they come from and their license are
// in common_passwords_LICENSE.txt.
//
//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswordMaxLen is the longest password in the list, in bytes (all
// are ASCII): longer ones are not looked up.
const commonPasswordMaxLen = 20

// commonPasswords indexes the list the first time it is needed (a few
// milliseconds, once): the keys share the embedded text's bytes.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, CommonPasswords)
	for p := range strings.Lines(commonPasswordsText) {
		set[strings.TrimSuffix(p, "\n")] = struct{}{}
	}
	return set
})

// IsCommonPassword reports whether password is, ignoring case, one of the
// CommonPasswords most common passwords.
func IsCommonPassword(password string) bool {
	// Lowering keeps the count of code points, and every listed password
	// is ASCII: more code points than the longest cannot match.
	if utf8.RuneCountInString(password) > commonPasswordMaxLen {
		return false
	}
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}
