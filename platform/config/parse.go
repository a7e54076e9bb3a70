package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/viper"

	"github.com/cleanslice/cleanslice/shared/user"
)

// parser reads typed values key by key and collects every problem instead of
// stopping at the first. Environment values win over the file.
type parser struct {
	v        *viper.Viper
	env      map[string]string
	src      map[string]string // where an env value came from, when not its variable
	problems []string
}

func (p *parser) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// raw returns the value of key and where it came from, for messages.
func (p *parser) raw(key string) (any, string) {
	if s, ok := p.env[key]; ok {
		if src, ok := p.src[key]; ok {
			return s, src
		}
		return s, EnvName(key)
	}
	return p.v.Get(key), key
}

func (p *parser) str(key string) string {
	val, _ := p.raw(key)
	return strings.TrimSpace(fmt.Sprint(val))
}

func (p *parser) duration(key string) time.Duration {
	val, src := p.raw(key)
	s := fmt.Sprint(val)
	d, err := time.ParseDuration(s)
	if err != nil {
		p.problem("%s: %q is not a duration (use e.g. 15m, 30s)", src, s)
	}
	return d
}

func (p *parser) integer(key string, lo, hi int) int {
	val, src := p.raw(key)
	s := fmt.Sprint(val)
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		p.problem("%s: %q is not a whole number", src, s)
	case n < lo || n > hi:
		p.problem("%s must be between %d and %d, not %d", src, lo, hi, n)
	}
	return n
}

func (p *parser) float(key string) float64 {
	val, src := p.raw(key)
	s := fmt.Sprint(val)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		p.problem("%s: %q is not a number", src, s)
	}
	return f
}

func (p *parser) boolean(key string) bool {
	val, src := p.raw(key)
	s := fmt.Sprint(val)
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		p.problem("%s: %q is not true or false", src, s)
	}
	return b
}

// list accepts a TOML array or, from the environment, a string of items
// separated by whitespace or commas.
func (p *parser) list(key string) []string {
	val, src := p.raw(key)
	var items []string
	switch x := val.(type) {
	case string:
		items = strings.FieldsFunc(x, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	case []string:
		items = x
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				p.problem("%s: every item must be a string", src)
				return nil
			}
			items = append(items, s)
		}
	default:
		p.problem("%s must be a list of strings", src)
		return nil
	}
	out := []string{}
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// roles reads a list of role names; an unknown one is a problem.
func (p *parser) roles(key string) []user.Role {
	_, src := p.raw(key)
	var out []user.Role
	for _, name := range p.list(key) {
		r, err := user.ParseRole(name)
		if err != nil {
			p.problem("%s: %q is not a role (user, admin or super_admin)", src, name)
			continue
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
