package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

// TestTypesListsEveryType: a Type constant added without its entry in
// Types would be missing from the OpenAPI enum, the cursor's checks and
// the docs test; each entry is listed once.
func TestTypesListsEveryType(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []Type
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Type" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("a Type constant's value is not a string literal: %T", v)
				}
				declared = append(declared, Type(lit.Value[1:len(lit.Value)-1]))
			}
		}
	}
	if len(declared) < 10 {
		t.Fatalf("found %d Type constants in audit.go; are they still declared as `Name Type = \"...\"`?", len(declared))
	}
	for _, d := range declared {
		if !slices.Contains(Types, d) {
			t.Errorf("%s is a Type constant without its entry in Types", d)
		}
	}
	for i, typ := range Types {
		if slices.Index(Types, typ) != i {
			t.Errorf("Types lists %s twice", typ)
		}
		if !slices.Contains(declared, typ) {
			t.Errorf("Types lists %s, which no constant of audit.go declares", typ)
		}
	}
}
