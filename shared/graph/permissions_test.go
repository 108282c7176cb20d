package graph_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestEveryReadHasAPermission: every tenant source this package's code
// names (the sources its reads, probes and delta rounds report) has a
// Microsoft Graph permission in the catalogue, so that a read added
// without its entry fails here instead of answering a 403 with "check the
// app's permissions" and going ungranted by the deployment.
func TestEveryReadHasAPermission(t *testing.T) {
	t.Parallel()
	values := constants(t, filepath.Join("..", "tenant"), "Source")
	used := sourcesNamed(t, ".")
	if len(used) < 10 {
		t.Fatalf("found %d tenant.Source names in shared/graph (%v): the parse is not seeing the reads", len(used), used)
	}
	for _, name := range used {
		v, ok := values[name]
		if !ok {
			t.Errorf("tenant.%s: not a constant of shared/tenant", name)
			continue
		}
		var graph []string
		es, _ := permission.Needs(tenant.Source(v))
		for _, e := range es {
			if e.Resource == permission.Graph {
				graph = append(graph, e.Name)
			}
		}
		if len(graph) == 0 {
			t.Errorf("shared/graph reads tenant.%s (%q), but the catalogue (shared/permission) has no Microsoft Graph permission for it", name, v)
		}
	}
}

// sourcesNamed returns the names X of every tenant.X selector starting
// "Source" in the non-test Go files of dir, sorted, once each.
func sourcesNamed(t *testing.T, dir string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range parseDir(t, dir) {
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "tenant" && strings.HasPrefix(sel.Sel.Name, "Source") && sel.Sel.Name != "Source" {
				seen[sel.Sel.Name] = true
			}
			return true
		})
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// constants returns name → value of the string constants of type typ
// declared in the non-test Go files of dir.
func constants(t *testing.T, dir, typ string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range parseDir(t, dir) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
					continue
				}
				for i, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING || i >= len(vs.Names) {
						t.Fatalf("%s: a %s constant that is not a string literal", vs.Names[0].Name, typ)
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[vs.Names[i].Name] = s
				}
			}
		}
	}
	return out
}

func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}
