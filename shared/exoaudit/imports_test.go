package exoaudit_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports: the package imports the standard library and shared/tenant
// only, so detect and collect can use it without pulling in adapters.
func TestImports(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	const tenant = "github.com/tenantwatch/tenantwatch/shared/tenant"
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if path != tenant && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: only the standard library and %s are allowed", name, path, tenant)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
