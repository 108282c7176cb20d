package blobstore_test

import (
	"os/exec"
	"strings"
	"testing"
)

// storageSDK are the import path prefixes of the Azure Storage SDKs: Blob,
// Queue and File (azblob, azqueue …) and Table (aztables).
var storageSDK = []string{
	"github.com/Azure/azure-sdk-for-go/sdk/storage/",
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables",
}

// graphSDK are the import path prefixes of Microsoft Graph's SDK and what
// only it needs (kiota): shared/graph alone imports them.
var graphSDK = []string{
	"github.com/microsoftgraph/",
	"github.com/microsoft/kiota-",
}

// identitySDK is azidentity, which shared/identity alone imports: it builds
// the process's one credential, which the adapters take.
var identitySDK = []string{"github.com/Azure/azure-sdk-for-go/sdk/azidentity"}

// TestSDKsStayInAdapters: the packages listed build without the Azure
// Storage SDKs and without Microsoft Graph's, directly or through another
// package, so that they compile and test fast and never reach storage or
// Graph but through an interface they declare (style.md §2 and §3). Adding
// a package is one line. The adapters themselves are listed as controls:
// each must depend on its SDK, or the check is not seeing dependencies at
// all.
func TestSDKsStayInAdapters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg      string
		storage  bool // a storage adapter: it must depend on the storage SDK
		graph    bool // the Graph adapter: it must depend on the Graph SDK
		identity bool // the credential's owner: it must depend on azidentity
	}{
		{pkg: "shared/blobstore", storage: true}, // control
		{pkg: "shared/store", storage: true},     // control
		{pkg: "shared/graph", graph: true},       // control
		{pkg: "shared/identity", identity: true}, // control; storage and Graph take its credential
		{pkg: "shared/report"},                   // rendering only; the Blob adapter is shared/blobstore
		{pkg: "shared/detect"},
		{pkg: "shared/tenant"},
		{pkg: "shared/watch"}, // the deployed app's engine: storage and Graph through the interfaces it declares
		{pkg: "shared/collect"},
		{pkg: "shared/notify"},
		{pkg: "shared/pipeline"},
		{pkg: "shared/permission"}, // the permission catalogue: data only
		{pkg: "shared/state"},      // the state records the adapters and their users share
	}
	const module = "github.com/tenantwatch/tenantwatch/"
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	args := []string{"list", "-e", "-f", `{{.ImportPath}}{{"\t"}}{{join .Deps " "}}{{"\t"}}{{with .Error}}{{.}}{{end}}`}
	for _, tc := range tests {
		args = append(args, module+tc.pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = strings.TrimSpace(string(root))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := make(map[string][]string)
	for line := range strings.Lines(string(out)) {
		parts := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(parts) != 3 {
			t.Fatalf("unexpected go list line %q", line)
		}
		if parts[2] != "" {
			t.Fatalf("go list %s: %s", parts[0], parts[2])
		}
		deps[parts[0]] = strings.Fields(parts[1])
	}
	for _, tc := range tests {
		t.Run(tc.pkg, func(t *testing.T) {
			ds, ok := deps[module+tc.pkg]
			if !ok {
				t.Fatalf("go list did not list %s", tc.pkg)
			}
			for _, sdk := range []struct {
				name     string
				prefixes []string
				adapter  bool
				owners   string
			}{
				{"the Azure Storage SDK", storageSDK, tc.storage, "shared/store, shared/blobstore"},
				{"the Microsoft Graph SDK", graphSDK, tc.graph, "shared/graph"},
				{"azidentity", identitySDK, tc.identity, "shared/identity"},
			} {
				found := matching(ds, sdk.prefixes)
				switch {
				case sdk.adapter && len(found) == 0:
					t.Errorf("%s does not depend on %s: the check sees no dependencies", tc.pkg, sdk.name)
				case !sdk.adapter && len(found) > 0:
					t.Errorf("%s depends on %s (%d packages: %s …); only %s may",
						tc.pkg, sdk.name, len(found), strings.Join(found[:min(2, len(found))], ", "), sdk.owners)
				}
			}
		})
	}
}

// matching returns the packages of deps under one of prefixes.
func matching(deps, prefixes []string) []string {
	var out []string
	for _, d := range deps {
		for _, p := range prefixes {
			if strings.HasPrefix(d, p) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}
