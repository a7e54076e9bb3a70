package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cleanslice/cleanslice"

// listedPackage is the part of `go list -json` output the rules need.
type listedPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Module     *struct{ Path string }
}

// dependencyViolations applies the dependency rule to a package list:
//   - shared/ imports only shared/, the standard library and gofrs/uuid;
//   - a feature imports no platform/ package and no other feature;
//   - platform/ imports no feature.
func dependencyViolations(pkgs []listedPackage) []string {
	byPath := map[string]listedPackage{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	ours := func(path string) (string, bool) {
		rel, ok := strings.CutPrefix(path, module+"/")
		return rel, ok
	}
	var out []string
	for _, p := range pkgs {
		rel, ok := ours(p.ImportPath)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			dep, known := byPath[imp]
			if known && dep.Standard {
				continue
			}
			impRel, impOurs := ours(imp)
			switch {
			case strings.HasPrefix(rel, "shared/"):
				if impOurs && !strings.HasPrefix(impRel, "shared/") ||
					!impOurs && !strings.HasPrefix(imp, "github.com/gofrs/uuid/") {
					out = append(out, p.ImportPath+" imports "+imp+": shared/ may import only shared/, the standard library and gofrs/uuid")
				}
			case strings.HasPrefix(rel, "features/"):
				feature := strings.SplitN(rel, "/", 3)[1]
				if impOurs && strings.HasPrefix(impRel, "platform/") {
					out = append(out, p.ImportPath+" imports "+imp+": features must not import platform/")
				}
				if impOurs && strings.HasPrefix(impRel, "features/") && strings.SplitN(impRel, "/", 3)[1] != feature {
					out = append(out, p.ImportPath+" imports "+imp+": features must not import other features")
				}
			case strings.HasPrefix(rel, "platform/"):
				if impOurs && strings.HasPrefix(impRel, "features/") {
					out = append(out, p.ImportPath+" imports "+imp+": platform/ must not import features/")
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestDependencyRule(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	var sawShared, sawFeature, sawPlatform bool
	for _, p := range pkgs {
		sawShared = sawShared || strings.HasPrefix(p.ImportPath, module+"/shared/")
		sawFeature = sawFeature || strings.HasPrefix(p.ImportPath, module+"/features/")
		sawPlatform = sawPlatform || strings.HasPrefix(p.ImportPath, module+"/platform/")
	}
	if !sawShared || !sawFeature || !sawPlatform {
		t.Fatalf("go list did not report shared/, features/ and platform/ packages")
	}
	for _, v := range dependencyViolations(pkgs) {
		t.Error(v)
	}
}

// TestDependencyRuleCatchesViolations feeds the checker a made-up module
// that breaks every rule once.
func TestDependencyRuleCatchesViolations(t *testing.T) {
	pkg := func(path string, imports ...string) listedPackage {
		return listedPackage{ImportPath: module + "/" + path, Imports: imports}
	}
	pkgs := []listedPackage{
		{ImportPath: "fmt", Standard: true},
		pkg("shared/user", "fmt", module+"/shared/apperr", "github.com/gofrs/uuid/v5"), // fine
		pkg("shared/auth", module+"/platform/token"),
		pkg("shared/session", "github.com/labstack/echo/v5"),
		pkg("features/login", module+"/shared/user", "github.com/labstack/echo/v5"), // fine
		pkg("features/logout", module+"/platform/sqlstore"),
		pkg("features/me", module+"/features/login"),
		pkg("platform/sqlstore", module+"/shared/user"), // fine
		pkg("platform/token", module+"/features/login"),
	}
	got := dependencyViolations(pkgs)
	if len(got) != 5 {
		t.Fatalf("got %d violations, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, bad := range []string{"shared/auth", "shared/session", "features/logout", "features/me", "platform/token"} {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, module+"/"+bad+" ") }) {
			t.Errorf("no violation reported for %s", bad)
		}
	}
}

// TestToolsStayOutOfTheBuild: the developer tools (tools/tools.mod) are not in
// the service's module graph, and go build ./... links none of them.
func TestToolsStayOutOfTheBuild(t *testing.T) {
	b, err := os.ReadFile("tools/tools.mod")
	if err != nil {
		t.Fatal(err)
	}
	// The tools, and the modules tools/tools.mod requires (read as text: no
	// download of the tools is needed).
	var tools, required []string
	block := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "tool (" || line == "require (":
			block = strings.TrimSuffix(line, " (")
		case line == ")":
			block = ""
		case block == "tool" && line != "":
			tools = append(tools, line)
		case block == "require" && line != "":
			required = append(required, strings.Fields(line)[0])
		}
	}
	if len(tools) < 2 {
		t.Fatalf("tools/tools.mod names %d tools, want air and golangci-lint at least", len(tools))
	}
	goList := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	// A tool's module is the longest required module path its package is in.
	var toolModules []string
	for _, tool := range tools {
		best := ""
		for _, m := range required {
			if (tool == m || strings.HasPrefix(tool, m+"/")) && len(m) > len(best) {
				best = m
			}
		}
		if best == "" {
			t.Fatalf("tools/tools.mod requires no module for tool %s", tool)
		}
		toolModules = append(toolModules, best)
	}
	graph := goList("-m", "all")
	linked := goList("-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")
	for _, m := range toolModules {
		if slices.Contains(graph, m) || slices.Contains(linked, m) {
			t.Errorf("tool module %s is in the service's go.mod graph or build", m)
		}
	}
	if main, _ := os.ReadFile("go.mod"); strings.Contains(string(main), "\ntool ") {
		t.Error("go.mod has tool directives: they belong in tools/tools.mod")
	}
}
