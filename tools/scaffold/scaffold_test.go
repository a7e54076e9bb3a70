package scaffold

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	s, err := Describe("archive_user")
	if err != nil || s.Package != "archiveuser" || s.Path != "/api/v1/archive-user" {
		t.Fatalf("Describe = %+v, %v", s, err)
	}
	for _, bad := range []string{"", "Archive", "archive-user", "_x", "x_", "a__b", "1abc", "ab cd"} {
		if _, err := Describe(bad); err == nil {
			t.Errorf("Describe(%q) accepted a bad name", bad)
		}
	}
}

// TestScaffoldBuildsAndPasses writes a slice into a copy of the module and
// runs go vet and the slice's own test there; it also checks the slice
// imports nothing of ours but shared/.
func TestScaffoldBuildsAndPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a copy of the module")
	}
	root := filepath.Join("..", "..")
	tmp := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(tmp, "shared"), os.DirFS(filepath.Join(root, "shared"))); err != nil {
		t.Fatal(err)
	}
	s, _ := Describe("archive_user")
	files, err := Write(tmp, s)
	if err != nil || len(files) != 4 {
		t.Fatalf("Write = %v, %v", files, err)
	}
	if _, err := Write(tmp, s); err == nil {
		t.Fatal("Write overwrote an existing slice")
	}
	run := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("vet", "./features/archiveuser/")
	if out := run("test", "-count=1", "./features/archiveuser/"); !strings.Contains(out, "ok") {
		t.Fatalf("generated test: %s", out)
	}
	deps := run("list", "-f", `{{join .Imports "\n"}}`, "./features/archiveuser/")
	for _, imp := range strings.Fields(deps) {
		if strings.HasPrefix(imp, "github.com/cleanslice/cleanslice/") && !strings.HasPrefix(imp, "github.com/cleanslice/cleanslice/shared/") {
			t.Errorf("generated slice imports %s: features may import only shared/", imp)
		}
	}
	if !strings.Contains(RouteLines(s), `api.POST("/archive-user", archiveuserH.Handle, authn.Required)`) {
		t.Errorf("route line: %s", RouteLines(s))
	}
}
