package scaffold

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		shape                      Shape
		pkg, path, area, v, method string
	}{
		{"archive_user", Plain, "archiveuser", "/api/v1/auth/archive-user", "routes_account.go", "archiveUserH", "ArchiveUser"},
		{"archive_user", Admin, "archiveuser", "/api/v1/users/archive", "routes_admin.go", "archiveUserH", "ArchiveUser"},
		{"reset_api_keys", Admin, "resetapikeys", "/api/v1/users/reset-api-keys", "routes_admin.go", "resetAPIKeysH", "ResetAPIKeys"},
		{"rotate_key", Self, "rotatekey", "/api/v1/auth/rotate-key", "routes_account.go", "rotateKeyH", "RotateKey"},
		{"mfa_pause", Self, "mfapause", "/api/v1/auth/mfa-pause", "routes_account.go", "mfaPauseH", "MFAPause"},
	} {
		s, err := Describe(tc.name, tc.shape)
		if err != nil || s.Package != tc.pkg || s.Path != tc.path || s.Area != tc.area || s.Var != tc.v || s.Store != tc.method {
			t.Errorf("Describe(%q, %s) = %+v, %v", tc.name, tc.shape, s, err)
		}
	}
	for _, bad := range []string{"", "Archive", "archive-user", "_x", "x_", "a__b", "1abc", "ab cd"} {
		if _, err := Describe(bad, Plain); err == nil {
			t.Errorf("Describe(%q) accepted a bad name", bad)
		}
	}
	if _, err := Describe("archive_user", "owner"); err == nil {
		t.Error("Describe accepted an unknown shape")
	}
}

// TestScaffoldBuildsAndPasses writes a slice of every shape into a copy of
// the module and runs go vet and the slices' own tests there; it also
// checks the slices import nothing of ours but shared/.
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
	names := map[Shape]string{Plain: "archive_user", Admin: "suspend_user", Self: "rotate_key"}
	var pkgs, written []string
	for _, shape := range Shapes {
		s, err := Describe(names[shape], shape)
		if err != nil {
			t.Fatal(err)
		}
		files, err := Write(tmp, s)
		if err != nil || len(files) != 4 {
			t.Fatalf("Write(%s) = %v, %v", shape, files, err)
		}
		if _, err := Write(tmp, s); err == nil {
			t.Fatalf("Write(%s) overwrote an existing slice", shape)
		}
		pkgs = append(pkgs, "./features/"+s.Package+"/")
		written = append(written, s.Package)
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
	run(append([]string{"vet"}, pkgs...)...)
	out := run(append([]string{"test", "-count=1", "-v"}, pkgs...)...)
	for _, pkg := range written {
		if !strings.Contains(out, "ok  \tgithub.com/cleanslice/cleanslice/features/"+pkg) {
			t.Errorf("%s: no passing test run in:\n%s", pkg, out)
		}
	}
	if strings.Contains(out, "--- SKIP") || strings.Count(out, "--- PASS") < 7 {
		t.Errorf("the generated tests skipped or ran too few:\n%s", out)
	}
	deps := run(append([]string{"list", "-f", `{{join .Imports "\n"}}`}, pkgs...)...)
	for _, imp := range strings.Fields(deps) {
		if strings.HasPrefix(imp, "github.com/cleanslice/cleanslice/") && !strings.HasPrefix(imp, "github.com/cleanslice/cleanslice/shared/") {
			t.Errorf("a generated slice imports %s: features may import only shared/", imp)
		}
	}
}

// TestShapes: each shape has the parts its kind of slice must have, as the
// slices it is modelled on have them.
func TestShapes(t *testing.T) {
	tmp := t.TempDir()
	want := map[Shape][]string{
		Plain: {"func New(store Store, now func() time.Time) *Interactor", "Execute(ctx context.Context, actor auth.Actor, in Input) (Result, error)",
			"actor.Authenticated()", "i.store.WithinTx(", "type request struct", "func (h *Handler) Handle(c *echo.Context) error"},
		Admin: {"func New(store Store, now func() time.Time) *Interactor", "Execute(ctx context.Context, actor auth.Actor, in Input) (user.User, error)",
			"auth.Require(actor, user.RoleAdmin)", "user.CheckUsername(in.Username)", "i.store.WithinTx(", "UserByUsernameForUpdate(ctx, in.Username)",
			"auth.CheckTarget(actor, u)", "!changed", "i.store.RecordEvent(ctx, audit.New(ctx, now, event, actor.User.ID, u.ID, nil))",
			"type request struct", "userjson.From(u)"},
		Self: {"func New(store Store, hasher Hasher, guard auth.Guard, now func() time.Time) *Interactor", "Execute(ctx context.Context, actor auth.Actor, in Input) error",
			"auth.ReauthStore // for guard.Reauthenticate and its Change", "type Hasher interface", "const Action = ",
			`Field: "current_password", Message: "current_password is required"`,
			"r, err := i.guard.Reauthenticate(ctx, i.store, i.hasher, now, actor, in.CurrentPassword, in.ClientIP, Action)",
			"err = r.Change(ctx, func(ctx context.Context) error {", "i.store.RecordEvent(ctx, audit.New(ctx, now, event, u.ID, u.ID, nil))",
			"type request struct", "ClientIP: c.RealIP()"},
	}
	for _, shape := range Shapes {
		s, _ := Describe("some_change", shape)
		dir := filepath.Join(tmp, string(shape))
		files, err := Write(dir, s)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all.Write(b)
		}
		for _, w := range want[shape] {
			if !strings.Contains(all.String(), w) {
				t.Errorf("%s: the slice has no %q", shape, w)
			}
		}
		// One Store port, declared in ports.go.
		ports, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, "features", s.Package, "ports.go"), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var stores int
		ast.Inspect(ports, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "Store" {
				stores++
			}
			return true
		})
		if stores != 1 {
			t.Errorf("%s: ports.go declares %d Store ports", shape, stores)
		}
	}
}

// TestRouteLines: the lines to paste use the route table's deps value as
// it is (every d.field exists in deps.go), name an area file that exists,
// and take the hashing middleware before authentication exactly when the
// slice checks a password.
func TestRouteLines(t *testing.T) {
	root := filepath.Join("..", "..")
	deps, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "deps.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	ast.Inspect(deps, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "deps" {
			for _, f := range ts.Type.(*ast.StructType).Fields.List {
				for _, name := range f.Names {
					fields = append(fields, name.Name)
				}
			}
		}
		return true
	})
	if len(fields) < 5 {
		t.Fatalf("deps has %d fields: is it still the struct in deps.go?", len(fields))
	}
	used := regexp.MustCompile(`\bd\.([a-zA-Z]+)`)
	want := map[Shape]string{
		Plain: "\tarchiveUserH := archiveuser.NewHandler(archiveuser.New(d.store, d.now))\n" +
			"\tapi.POST(\"/auth/archive-user\", archiveUserH.Handle, d.authn.Required)",
		Admin: "\tarchiveUserH := archiveuser.NewHandler(archiveuser.New(d.store, d.now))\n" +
			"\tapi.PATCH(\"/users/archive\", archiveUserH.Handle, d.authn.Required)",
		Self: "\tarchiveUserH := archiveuser.NewHandler(archiveuser.New(d.store, d.hasher, d.guard, d.now))\n" +
			"\tapi.POST(\"/auth/archive-user\", archiveUserH.Handle, d.hashing, d.authn.Required)",
	}
	for _, shape := range Shapes {
		s, _ := Describe("archive_user", shape)
		lines := RouteLines(s)
		if lines != want[shape] {
			t.Errorf("%s: route lines\n%s\nwant\n%s", shape, lines, want[shape])
		}
		for _, m := range used.FindAllStringSubmatch(lines, -1) {
			if !slices.Contains(fields, m[1]) {
				t.Errorf("%s: the route lines use d.%s, which deps does not have", shape, m[1])
			}
		}
		area, err := os.ReadFile(filepath.Join(root, s.Area))
		if err != nil {
			t.Errorf("%s: area file: %v", shape, err)
		} else if !strings.Contains(string(area), "(api *echo.Group, d *deps)") {
			t.Errorf("%s: %s has no area function taking api and d", shape, s.Area)
		}
		next := Next(s)
		for _, w := range []string{s.Area, Import(s), lines, "platform/openapi/openapi.yaml", "platform/sqlstore", "shared/audit", "docs/api.md", "README"} {
			if !strings.Contains(next, w) {
				t.Errorf("%s: the next steps do not mention %q:\n%s", shape, w, next)
			}
		}
	}
}
