package graph_test

import (
	"os/exec"
	"strings"
	"testing"
)

// sdks are the SDKs that one package of the module owns: only the owner
// may depend on them (style.md §2). Only shared/graph compiles the Graph
// SDK, and only shared/identity azidentity: everything else takes an
// azcore.TokenCredential.
var sdks = []struct {
	name     string
	owner    string
	prefixes []string
}{
	{name: "the Graph SDK", owner: module + "/shared/graph", prefixes: []string{
		"github.com/microsoftgraph/msgraph-sdk-go", // also matches msgraph-sdk-go-core
		"github.com/microsoft/kiota-",              // abstractions, http, authentication, serialization
	}},
	{name: "azidentity", owner: module + "/shared/identity", prefixes: []string{
		"github.com/Azure/azure-sdk-for-go/sdk/azidentity",
	}},
}

// sdkOf returns the index in sdks of the SDK path belongs to, or -1.
func sdkOf(path string) int {
	for i, s := range sdks {
		for _, p := range s.prefixes {
			if strings.HasPrefix(path, p) {
				return i
			}
		}
	}
	return -1
}

// wiring lists the packages that wire the concrete adapters together: they
// may depend on the SDKs through their owners, but may not import them
// themselves. The root main package hands the process to shared/cli, which
// builds the Graph client and the credential from flags.
var wiring = map[string]bool{
	module:                  true,
	module + "/shared/cli":  true,
	module + "/shared/app":  true, // builds the deployed app from its settings
	module + "/shared/demo": true, // runs the deployed app locally
}

const module = "github.com/tenantwatch/tenantwatch"

// TestOnlyOwnersImportSDKs: no package of the module but an SDK's owner
// depends on it (msgraph-sdk-go and kiota: shared/graph; azidentity:
// shared/identity), directly or through another package; the wiring
// packages may reach them only through the owners. Each owner must depend
// on its SDK, or the check is not seeing dependencies at all.
func TestOnlyOwnersImportSDKs(t *testing.T) {
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
	owned := make([]bool, len(sdks)) // the owner depends on its SDK
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
		if wiring[pkg] {
			for _, imp := range imports {
				if i := sdkOf(imp); i >= 0 {
					t.Errorf("%s imports %s directly; go through %s", pkg, imp, sdks[i].owner)
				}
			}
			continue
		}
		reported := make([]bool, len(sdks))
		for _, d := range deps {
			i := sdkOf(d)
			switch {
			case i < 0:
			case sdks[i].owner == pkg:
				owned[i] = true
			case !reported[i]:
				reported[i] = true
				t.Errorf("%s depends on %s (%s); only %s may (style.md §2)", pkg, d, sdks[i].name, sdks[i].owner)
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list printed no packages of the main module")
	}
	for i, s := range sdks {
		if !owned[i] {
			t.Errorf("%s does not depend on %s: the check sees no dependencies", s.owner, s.name)
		}
	}
}
