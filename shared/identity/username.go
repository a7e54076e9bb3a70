package identity

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/cleanslice/cleanslice/shared/user"
)

// Usernames returns n usernames to try, in order, for an account created
// through a provider: the provider's name for the user made valid (see
// user.CheckUsername), else the address's local part, else "user"; then
// that base cut short with a random number after it, for when the name is
// taken. Every one is valid.
func Usernames(c Claims, n int) []string {
	base := ""
	local, _, _ := strings.Cut(c.Email, "@")
	for _, s := range []string{c.Name, local} {
		s, _, _ = strings.Cut(s, "@") // a name that is an address: its local part
		if base = usernameBase(s); base != "" {
			break
		}
	}
	if base == "" {
		base = "user"
	}
	out := make([]string, 0, n)
	if user.CheckUsername(base) == nil {
		out = append(out, base)
	}
	short := strings.TrimRight(base[:min(len(base), user.UsernameMaxLen-6)], "._-")
	for len(out) < n {
		out = append(out, fmt.Sprintf("%s.%05d", short, rand.IntN(100000)))
	}
	return out
}

// usernameBase is s with what a username may not hold dropped: ASCII
// letters and digits kept, a run of separators and blanks made one
// separator (its first, as typed; '.' for a blank), none at either end, at
// most user.UsernameMaxLen long; "" when nothing is left.
func usernameBase(s string) string {
	var b strings.Builder
	var sep byte // the separator before the next letter: one kept as typed, '.' for a blank or '+'
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			if sep != 0 && b.Len() > 0 {
				b.WriteByte(sep)
			}
			sep = 0
			b.WriteRune(r)
		case r == '.' || r == '_' || r == '-':
			if sep == 0 {
				sep = byte(r)
			}
		case r == ' ' || r == '+':
			if sep == 0 {
				sep = '.'
			}
		}
		if b.Len() >= user.UsernameMaxLen {
			break
		}
	}
	return strings.TrimRight(b.String()[:min(b.Len(), user.UsernameMaxLen)], "._-")
}
