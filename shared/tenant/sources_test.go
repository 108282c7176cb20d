package tenant_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestSourcesListsEverySource: Sources is the one list of sources (a
// partial snapshot marks every source it did not read; the permission
// catalogue walks them). Every Source constant declared in the package is
// in it, once, so a new source cannot be forgotten there.
func TestSourcesListsEverySource(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var declared []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Source" {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok {
						t.Fatalf("a Source constant that is not a string literal: %T", v)
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared = append(declared, s)
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("no Source constant found: the test does not see the declarations")
	}
	var listed []string
	for _, s := range tenant.Sources() {
		listed = append(listed, string(s))
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if diff := cmp.Diff(declared, listed); diff != "" {
		t.Errorf("Sources() differs from the declared Source constants (-declared +listed):\n%s", diff)
	}
}

func TestIsMailResource(t *testing.T) {
	t.Parallel()
	for _, id := range tenant.MailResources() {
		if !tenant.IsMailResource(id) {
			t.Errorf("IsMailResource(%q) = false", id)
		}
	}
	for id, want := range map[string]bool{
		"00000003-0000-0000-C000-000000000000": true, // any case
		"00000002-0000-0FF1-CE00-000000000000": true,
		"00000003-0000-0ff1-ce00-000000000000": false, // SharePoint Online
		"":                                     false,
	} {
		if got := tenant.IsMailResource(id); got != want {
			t.Errorf("IsMailResource(%q) = %v, want %v", id, got, want)
		}
	}
}
