package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

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
