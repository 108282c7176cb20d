package graph_test

import (
	"os/exec"
	"strings"
	"testing"
)

// sdkPrefixes are the import paths only shared/graph may depend on.
var sdkPrefixes = []string{
	"github.com/microsoftgraph/msgraph-sdk-go", // also matches msgraph-sdk-go-core
	"github.com/microsoft/kiota-",              // abstractions, http, authentication, serialization
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity",
}

func isSDK(path string) bool {
	for _, p := range sdkPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// wiring lists the packages that wire the concrete adapters together: they
// may depend on the SDK through shared/graph, but may not import it
// themselves. The root main package hands the process to shared/cli, which
// builds the Graph client from flags.
var wiring = map[string]bool{
	module:                  true,
	module + "/shared/cli":  true,
	module + "/shared/app":  true, // builds the deployed app from its settings
	module + "/shared/demo": true, // runs the deployed app locally
}

const module = "github.com/tenantwatch/tenantwatch"

// TestOnlyGraphImportsSDK: no package of the module but shared/graph
// depends on msgraph-sdk-go, kiota or azidentity, directly or through
// another package; the wiring packages may reach them only through
// shared/graph.
func TestOnlyGraphImportsSDK(t *testing.T) {
	t.Parallel()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps",
		"-f", `{{with .Module}}{{if .Main}}{{$.ImportPath}}{{"\t"}}{{join $.Imports " "}}{{"\t"}}{{join $.Deps " "}}{{end}}{{end}}`,
		"./...")
	cmd.Dir = strings.TrimSpace(string(root))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("unexpected go list line %q", line)
		}
		pkg, imports, deps := parts[0], strings.Fields(parts[1]), strings.Fields(parts[2])
		checked++
		if pkg == module+"/shared/graph" {
			continue
		}
		if wiring[pkg] {
			for _, imp := range imports {
				if isSDK(imp) {
					t.Errorf("%s imports %s directly; go through shared/graph", pkg, imp)
				}
			}
			continue
		}
		for _, d := range deps {
			if isSDK(d) {
				t.Errorf("%s depends on %s; only shared/graph may (style.md §2)", pkg, d)
				break
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list printed no packages of the main module")
	}
}
