package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/cleanslice/cleanslice/platform/config"
)

// TestReadmeConfigTable keeps the README's configuration table true: one
// row per key of config.toml, and no row for a key that does not exist.
func TestReadmeConfigTable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The table is the Configuration section's; other tables (the audit
	// trail's event types) have dotted names too.
	_, section, _ := strings.Cut(string(b), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9_.]+)` \\|").FindAllStringSubmatch(section, -1) {
		rows[m[1]] = true
	}
	for key := range config.Defaults {
		if !rows[key] {
			t.Errorf("README's configuration table lacks %s", key)
		}
	}
	for key := range rows {
		if _, ok := config.Defaults[key]; !ok && strings.Contains(key, ".") {
			t.Errorf("README's configuration table lists %s, which is not a key", key)
		}
	}
}

// TestReadmeSetupCommands: the two set-up commands stay at the top.
func TestReadmeSetupCommands(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	top := string(b)[:1500]
	for _, cmd := range []string{"go run .", "go test ./..."} {
		if !strings.Contains(top, "\n"+cmd+" ") {
			t.Errorf("README does not start with %q", cmd)
		}
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\ngo test ./...\n") {
		t.Error(".ci/run does not run the README's test command")
	}
}

// TestReadmeLinks: every relative link of README.md and docs/*.md names a
// file that exists and, with a #fragment, a heading of that file (as
// GitHub makes anchors), so moving a section cannot leave a dead link.
func TestReadmeLinks(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	fences := regexp.MustCompile("(?s)```.*?```")
	headings := regexp.MustCompile(`(?m)^#+ (.*)$`)
	links := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	prose := map[string]string{} // each file without its code blocks
	anchors := map[string]map[string]bool{}
	read := func(name string) bool {
		if _, ok := prose[name]; ok {
			return true
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return false
		}
		prose[name] = fences.ReplaceAllString(string(b), "")
		anchors[name] = map[string]bool{}
		for _, m := range headings.FindAllStringSubmatch(prose[name], -1) {
			anchors[name][anchor(m[1])] = true
		}
		return true
	}
	for _, name := range append([]string{"README.md"}, docs...) {
		if !read(name) {
			t.Fatalf("cannot read %s", name)
		}
		for _, m := range links.FindAllStringSubmatch(prose[name], -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, fragment, _ := strings.Cut(target, "#")
			file := name
			if path != "" {
				file = filepath.Join(filepath.Dir(name), path)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s links to %s, which does not exist", name, target)
				continue
			}
			if fragment == "" || !strings.HasSuffix(file, ".md") {
				continue
			}
			if !read(file) || !anchors[file][fragment] {
				t.Errorf("%s links to %s: %s has no such heading", name, target, file)
			}
		}
	}
}

// anchor is GitHub's anchor of a heading: lower case, spaces as hyphens,
// everything but letters, digits, hyphens and underscores dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestReadmeLayout: every folder the README's layout names exists.
func TestReadmeLayout(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "\n## How the code is laid out\n")
	section, _, _ = strings.Cut(section, "\n## ")
	folders := regexp.MustCompile(`(?m)^([a-z.][a-z0-9_./]*/) `).FindAllStringSubmatch(section, -1)
	if len(folders) < 5 {
		t.Fatalf("the layout names %d folders; is it still a list of folder names at the start of lines?", len(folders))
	}
	for _, m := range folders {
		if fi, err := os.Stat(m[1]); err != nil || !fi.IsDir() {
			t.Errorf("the README's layout names %s, which is not a folder", m[1])
		}
	}
}
