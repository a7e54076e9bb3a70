package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/metrics"
	"github.com/cleanslice/cleanslice/platform/openapi"
	"github.com/cleanslice/cleanslice/shared/audit"
)

// undocumented are the routes that serve the document itself, not the API.
var undocumented = []string{"GET /", "GET /docs", "GET /docs/*", "GET /openapi.json", "GET /metrics",
	// The HTML pages mail links open, and their assets: pages, not API.
	"GET /account/verify", "GET /account/recover", "GET /account/account.js", "GET /account/account.css"}

// TestDocumentMatchesRoutes fails when a registered route is missing from
// the document or the document lists a route that does not exist.
func TestDocumentMatchesRoutes(t *testing.T) {
	app := newTestApp(t, "sqlite", nil)
	h, err := newHandler(background(t), app.cfg, slog.New(slog.DiscardHandler), app.store, metrics.New(), &httpserver.Drain{}, httpserver.NewForeground(), app.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	for _, r := range h.(*echo.Echo).Router().Routes() {
		if r.Method == echo.RouteNotFound || strings.HasPrefix(r.Name, "echo_route") {
			continue
		}
		key := r.Method + " " + normalizePath(r.Path)
		if !slices.Contains(undocumented, key) {
			registered = append(registered, key)
		}
	}
	var documented []string
	for path, item := range mustDoc(t).doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+normalizePath(path))
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.yaml lists %s, which is not a route", d)
		}
	}
	if len(registered) < 15 {
		t.Fatalf("only %d routes found: %v", len(registered), registered)
	}
}

// normalizePath writes a path as echo's routes do: no trailing slash,
// parameters as :name rather than OpenAPI's {name}.
func normalizePath(p string) string {
	if p != "/" {
		p = strings.TrimSuffix(p, "/")
	}
	return openAPIParam.ReplaceAllString(p, ":$1")
}

var openAPIParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func TestDocsAreServed(t *testing.T) {
	app := newTestApp(t, "sqlite", nil)
	c := app.client()
	r := c.do(t, "GET", "/openapi.json", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || !strings.Contains(string(r.body), `"openapi":"3.1.0"`) {
		t.Fatalf("/openapi.json: %d %q", r.status, r.header.Get("Content-Type"))
	}
	r = c.do(t, "GET", "/docs", "")
	if r.status != 200 || !strings.Contains(string(r.body), "/docs/swagger-ui-bundle.js") || strings.Contains(string(r.body), "https://") {
		t.Fatalf("/docs: %d %s", r.status, r.body)
	}
	for _, asset := range []string{"/docs/swagger-ui-bundle.js", "/docs/swagger-ui-standalone-preset.js", "/docs/swagger-ui.css", "/docs/index.css", "/docs/cleanslice-init.js"} {
		if r := c.do(t, "GET", asset, ""); r.status != 200 || len(r.body) == 0 {
			t.Errorf("%s: %d", asset, r.status)
		}
	}
	expect(t, "missing asset", c.do(t, "GET", "/docs/nope.js", ""), 404, "not_found")
}

// TestDocumentedCursorsContinue: the audit page example's next_cursor is
// a token the service accepts, so a front-end team can try it as written.
func TestDocumentedCursorsContinue(t *testing.T) {
	example, ok := mustDoc(t).doc.Components.Schemas["AuditPage"].Value.Examples[0].(map[string]any)
	if !ok {
		t.Fatal("AuditPage has no example object")
	}
	token, _ := example["next_cursor"].(string)
	q, err := audit.ParseParams(audit.Params{Cursor: token})
	if err != nil || q.After == nil {
		t.Fatalf("the documented cursor %q: %v", token, err)
	}
}

// TestAuditTypes holds every list of audit event types to audit.Types, the
// one written by hand: the document served (its enum is filled in from
// it), the event table of docs/api.md ("Audit trail"), and the code (no
// package but shared/audit makes a type up from a string literal, as a
// scaffolded slice does until its type is added there).
func TestAuditTypes(t *testing.T) {
	b, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []audit.Type `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas["AuditEventType"].Enum; !slices.Equal(got, audit.Types) {
		t.Errorf("openapi.yaml's AuditEventType lists %v, want audit.Types %v", got, audit.Types)
	}

	documented, err := auditTable("docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range audit.Types {
		if documented[typ] == 0 {
			t.Errorf("docs/api.md's Audit trail table has no row for %s (actor, target, details)", typ)
		}
	}
	for typ, n := range documented {
		if !typ.Valid() {
			t.Errorf("docs/api.md's Audit trail table documents %s, which is not in audit.Types", typ)
		} else if n > 1 {
			t.Errorf("docs/api.md's Audit trail table documents %s %d times", typ, n)
		}
	}

	madeUp, err := madeUpAuditTypes(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range madeUp {
		t.Errorf("%s: add the type to shared/audit (the constant and its entry in audit.Types) and use its constant", m)
	}
}

// auditTable returns how often each type is named in the first column of
// the event table in the "Audit trail" section of a markdown file.
func auditTable(name string) (map[audit.Type]int, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	_, section, ok := strings.Cut(string(b), "\n## Audit trail\n")
	if !ok {
		return nil, fmt.Errorf("%s has no Audit trail section", name)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := regexp.MustCompile("(?m)^\\| *(`[^|]*?) *\\|").FindAllStringSubmatch(section, -1)
	if len(rows) < 5 {
		return nil, fmt.Errorf("%s: the Audit trail table has %d rows; is it still a table whose first column names the types in backquotes?", name, len(rows))
	}
	out := map[audit.Type]int{}
	for _, row := range rows {
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(row[1], -1) {
			out[audit.Type(m[1])]++
		}
	}
	return out, nil
}

// madeUpAuditTypes returns the places, outside shared/audit and tests,
// where Go code under root converts a string literal to audit.Type.
func madeUpAuditTypes(root string) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") || filepath.ToSlash(path) == "shared/audit" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Type" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "audit" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				out = append(out, fmt.Sprintf("%s: audit.Type(%s)", fset.Position(call.Pos()), lit.Value))
			}
			return true
		})
		return nil
	})
	return out, err
}
