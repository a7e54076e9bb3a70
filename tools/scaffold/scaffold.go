// Package scaffold writes a new feature slice from a template: interactor,
// ports, handler and a test, which compile and pass as they are. A shape
// starts the slice closer to a common case: plain (a logged-in user's
// request), admin (an admin acting on a target user, like inactivateuser)
// or self (a user's own change after their current password, like
// disabletotp).
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
	"slices"
	"strings"
	"text/template"
)

//go:embed template
var templates embed.FS

// Shape is the kind of slice to start from.
type Shape string

// The shapes.
const (
	// Plain is a logged-in user's request: 401, 422, one transaction.
	Plain Shape = "plain"
	// Admin is an admin acting on a target user named in the body: 403
	// before 404, the target's row locked, auth.CheckTarget, an
	// idempotent no-op, the event in the transaction.
	Admin Shape = "admin"
	// Self is a user's own change after their current password:
	// guard.Reauthenticate, then the change in r.Change.
	Self Shape = "self"
)

// Shapes lists every shape.
var Shapes = []Shape{Plain, Admin, Self}

// Slice describes the slice to write.
type Slice struct {
	Name    string // as given: archive_user
	Package string // the folder and package: archiveuser
	Shape   Shape
	Words   string // the scenario in an error message: archive user
	Var     string // the handler's variable in the routes file: archiveUserH
	Store   string // the store method the change adds (admin, self): ArchiveUser
	Event   string // the audit type the change records until it has its own (admin, self)
	Method  string // PATCH
	Path    string // /api/v1/users/archive
	Area    string // the routes file that mounts it: routes_admin.go
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*[a-z0-9]$`)

// initialisms are written in capitals in Go names.
var initialisms = map[string]string{"api": "API", "id": "ID", "ip": "IP", "jwt": "JWT", "mfa": "MFA", "otp": "OTP", "totp": "TOTP", "url": "URL"}

// Describe checks a scenario name and a shape and derives the package,
// the names and the route.
func Describe(name string, shape Shape) (Slice, error) {
	if !validName.MatchString(name) || strings.Contains(name, "__") {
		return Slice{}, fmt.Errorf("feature name %q: use lower-case letters, digits and single underscores, e.g. archive_user", name)
	}
	if !slices.Contains(Shapes, shape) {
		return Slice{}, fmt.Errorf("shape %q: want one of %v", shape, Shapes)
	}
	words := strings.Split(name, "_")
	var camel strings.Builder
	for k, w := range words {
		switch {
		case k == 0:
			camel.WriteString(w)
		case initialisms[w] != "":
			camel.WriteString(initialisms[w])
		default:
			camel.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	exported := camel.String()
	if up, ok := initialisms[words[0]]; ok {
		exported = up + exported[len(words[0]):]
	} else {
		exported = strings.ToUpper(exported[:1]) + exported[1:]
	}
	s := Slice{
		Name:    name,
		Package: strings.ReplaceAll(name, "_", ""),
		Shape:   shape,
		Words:   strings.Join(words, " "),
		Var:     camel.String() + "H",
		Store:   exported,
		Event:   "user." + name,
	}
	dashed := strings.ReplaceAll(name, "_", "-")
	switch shape {
	case Plain:
		s.Method, s.Path, s.Area = "POST", "/api/v1/auth/"+dashed, "routes_account.go"
	case Admin:
		// PATCH /users/<verb>, as /users/inactivate and /users/reset-mfa:
		// the target is named in the body.
		verb := strings.ReplaceAll(strings.TrimSuffix(name, "_user"), "_", "-")
		s.Method, s.Path, s.Area = "PATCH", "/api/v1/users/"+verb, "routes_admin.go"
	case Self:
		s.Method, s.Path, s.Area = "POST", "/api/v1/auth/"+dashed, "routes_account.go"
	}
	return s, nil
}

// outputs maps each template to the file it writes.
func outputs(s Slice) map[string]string {
	return map[string]string{
		"feature.go.tmpl":      s.Package + ".go",
		"ports.go.tmpl":        "ports.go",
		"handler.go.tmpl":      "handler.go",
		"feature_test.go.tmpl": s.Package + "_test.go",
	}
}

// Write creates features/<package>/ under root from the slice's shape and
// returns the files written. It refuses to overwrite.
func Write(root string, s Slice) ([]string, error) {
	if !slices.Contains(Shapes, s.Shape) {
		return nil, fmt.Errorf("shape %q: want one of %v", s.Shape, Shapes)
	}
	dir := filepath.Join(root, "features", s.Package)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%s already exists", dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Render everything before writing anything: a template error leaves
	// no half slice behind.
	out := outputs(s)
	names := make([]string, 0, len(out))
	for tmpl := range out {
		names = append(names, tmpl)
	}
	slices.Sort(names)
	srcs := map[string][]byte{}
	for _, tmpl := range names {
		t, err := template.ParseFS(templates, "template/"+string(s.Shape)+"/"+tmpl)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, s); err != nil {
			return nil, err
		}
		src, err := format.Source(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", s.Shape, tmpl, err)
		}
		srcs[tmpl] = src
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, tmpl := range names {
		path := filepath.Join(dir, out[tmpl])
		if err := os.WriteFile(path, srcs[tmpl], 0o644); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// Import is the slice's import path, for the routes file.
func Import(s Slice) string { return "github.com/cleanslice/cleanslice/features/" + s.Package }

// RouteLines returns the lines that construct and mount the slice in its
// area's function (s.Area), built from the deps value d.
func RouteLines(s Slice) string {
	args, middleware := "d.store, d.now", "d.authn.Required"
	if s.Shape == Self {
		// A route that verifies a password queues for the hashers before
		// any database work.
		args, middleware = "d.store, d.hasher, d.guard, d.now", "d.hashing, d.authn.Required"
	}
	return fmt.Sprintf("\t%s := %s.NewHandler(%s.New(%s))\n\tapi.%s(%q, %s.Handle, %s)",
		s.Var, s.Package, s.Package, args, s.Method, strings.TrimPrefix(s.Path, "/api/v1"), s.Var, middleware)
}

// Next is what to do once the slice is written: where to mount it and
// what else a slice touches.
func Next(s Slice) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Mount it in %s: import %q and add to the area's function:\n\n%s\n\n", s.Area, Import(s), RouteLines(s))
	if s.Shape == Plain {
		fmt.Fprintf(&b, "(%s is a user's own account; a slice of another area goes in routes_mfa.go or routes_admin.go.)\n\n", s.Area)
	}
	b.WriteString("Then:\n")
	step := 0
	item := func(lines ...string) {
		step++
		fmt.Fprintf(&b, "%2d. %s\n", step, strings.Join(lines, "\n    "))
	}
	if s.Shape != Plain {
		item("The store: add "+s.Store+" to platform/sqlstore (one SQL text for both engines), with a",
			"contract test that runs on PostgreSQL and SQLite (forEachEngine). Until then the lines above",
			"do not compile: passing d.store to "+s.Package+".New checks that *sqlstore.Store has every",
			"method of the slice's Store.")
		item("The audit type: the slice records audit.Type("+fmt.Sprintf("%q", s.Event)+"), a stand-in that",
			"TestAuditTypes refuses. Add the change's own type to shared/audit (the constant and its",
			"entry in audit.Types: the OpenAPI enum follows), name it in features/"+s.Package+"/"+s.Package+".go,",
			"and give it a row in the event table of docs/api.md (\"Audit trail\").")
	} else {
		item("The store: each method the slice adds to its Store goes in platform/sqlstore (one SQL text",
			"for both engines), with a contract test that runs on PostgreSQL and SQLite (forEachEngine).")
		item("A change records its event in its transaction: RecordEvent in Store, a type of its own in",
			"shared/audit (the constant and its entry in audit.Types) and a row in docs/api.md (\"Audit trail\").")
	}
	if s.Shape == Self {
		item("The password check: Action ("+fmt.Sprintf("%q", s.Name)+") is details.action of",
			"reauthentication.failed: list it in that row of docs/api.md's event table.")
	}
	item("The OpenAPI document: add "+s.Method+" "+s.Path+" to platform/openapi/openapi.yaml",
		"(TestDocumentMatchesRoutes fails until you do); the whole-service tests check every response",
		"against it.")
	item("A whole-service test in the area's root test file, " + areaTest(s.Area) + ", on both engines.")
	item("The docs: the route in docs/api.md, and the slice in the README's layout (features/<scenario>/).")
	item("The schema, if it changes: task migrate:new -- NAME.")
	return b.String()
}

// areaTest is the root test file of a routes file's area.
func areaTest(area string) string {
	switch area {
	case "routes_admin.go":
		return "admin_test.go"
	case "routes_mfa.go":
		return "mfa_test.go"
	}
	return "account_test.go"
}
