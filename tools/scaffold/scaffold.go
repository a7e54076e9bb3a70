// Package scaffold writes a new feature slice from a template: interactor,
// ports, handler and a test, which compile and pass as they are.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed template/*.tmpl
var templates embed.FS

// Slice describes the slice to write.
type Slice struct {
	Name    string // as given: archive_user
	Package string // the folder and package: archiveuser
	Method  string // POST
	Path    string // /api/v1/archive-user
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*[a-z0-9]$`)

// Describe checks a scenario name and derives the package and route.
func Describe(name string) (Slice, error) {
	if !validName.MatchString(name) || strings.Contains(name, "__") {
		return Slice{}, fmt.Errorf("feature name %q: use lower-case letters, digits and single underscores, e.g. archive_user", name)
	}
	return Slice{
		Name:    name,
		Package: strings.ReplaceAll(name, "_", ""),
		Method:  "POST",
		Path:    "/api/v1/" + strings.ReplaceAll(name, "_", "-"),
	}, nil
}

// Write creates features/<package>/ under root. It refuses to overwrite.
func Write(root string, s Slice) ([]string, error) {
	dir := filepath.Join(root, "features", s.Package)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%s already exists", dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	files := map[string]string{
		"feature.go.tmpl":      s.Package + ".go",
		"ports.go.tmpl":        "ports.go",
		"handler.go.tmpl":      "handler.go",
		"feature_test.go.tmpl": s.Package + "_test.go",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for tmpl, out := range files {
		t, err := template.ParseFS(templates, "template/"+tmpl)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, s); err != nil {
			return nil, err
		}
		src, err := format.Source(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tmpl, err)
		}
		path := filepath.Join(dir, out)
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	return written, nil
}

// RouteLines returns what to add to newHandler in app.go.
func RouteLines(s Slice) string {
	return fmt.Sprintf("\t%sH := %s.NewHandler(%s.New(store, now))\n\tapi.%s(%q, %sH.Handle, authn.Required)",
		s.Package, s.Package, s.Package, s.Method, strings.TrimPrefix(s.Path, "/api/v1"), s.Package)
}
