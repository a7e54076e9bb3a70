package main

import (
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/platform/httpserver"
	"github.com/cleanslice/cleanslice/platform/metrics"
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
	h, err := newHandler(runner{t.Context(), &sync.WaitGroup{}}, app.cfg, slog.New(slog.DiscardHandler), app.store, metrics.New(), &httpserver.Drain{}, httpserver.NewForeground(), app.clock.Now)
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
