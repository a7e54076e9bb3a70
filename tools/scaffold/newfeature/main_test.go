package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{"archive_user"},
		{"--shape", "admin", "suspend_user"},
		{"rotate_key", "--shape", "self"},
		{"rotate_other_key", "-shape=self"},
	} {
		var out, errs bytes.Buffer
		if code := run(root, args, &out, &errs); code != 0 {
			t.Fatalf("run %q = %d: %s", args, code, errs.String())
		}
		if !strings.Contains(out.String(), "wrote ") || !strings.Contains(out.String(), "Mount it in routes_") {
			t.Errorf("run %q printed:\n%s", args, out.String())
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "features", "rotatekey", "ports.go"))
	if err != nil || !strings.Contains(string(b), "auth.ReauthStore") {
		t.Errorf("rotate_key --shape self wrote %s, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "features", "suspenduser", "ports.go")); err != nil || !strings.Contains(string(b), "UserByUsernameForUpdate") {
		t.Errorf("--shape admin suspend_user wrote %s, %v", b, err)
	}
	for _, args := range [][]string{{}, {"a", "b"}, {"--shape", "owner", "x_y"}, {"Bad"}, {"x_y", "--nope"}} {
		var out, errs bytes.Buffer
		if code := run(root, args, &out, &errs); code != 2 {
			t.Errorf("run %q = %d, want 2 (usage)", args, code)
		}
	}
	var out, errs bytes.Buffer
	if code := run(root, []string{"archive_user"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "already exists") {
		t.Errorf("a second archive_user: %d %s", code, errs.String())
	}
}
