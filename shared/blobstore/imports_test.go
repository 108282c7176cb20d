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

// TestStorageSDKStaysInAdapters: the packages listed build without the
// Azure Storage SDKs, directly or through another package, so that they
// compile and test fast and never reach storage but through an interface
// they declare (style.md §2 and §3). Adding a package is one line. The
// adapter itself is listed as the control: it must depend on the SDK, or
// the check is not seeing dependencies at all.
func TestStorageSDKStaysInAdapters(t *testing.T) {
	t.Parallel()
	// shared/watch joins the list once it no longer imports shared/store
	// (for store.ErrConflict; issue 10).
	tests := []struct {
		pkg     string
		storage bool // the package is an adapter: it must depend on the SDK
	}{
		{pkg: "shared/blobstore", storage: true}, // control
		{pkg: "shared/report"},                   // rendering only; the Blob adapter is shared/blobstore
		{pkg: "shared/detect"},
		{pkg: "shared/tenant"},
		{pkg: "shared/permission"}, // the permission catalogue: data only
		{pkg: "shared/identity"},   // the credential; storage takes it, not the other way
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
			var found []string
			for _, d := range ds {
				for _, p := range storageSDK {
					if strings.HasPrefix(d, p) {
						found = append(found, d)
						break
					}
				}
			}
			switch {
			case tc.storage && len(found) == 0:
				t.Errorf("%s does not depend on the storage SDK: the check sees no dependencies", tc.pkg)
			case !tc.storage && len(found) > 0:
				t.Errorf("%s depends on the Azure Storage SDK (%d packages: %s …); only the adapters (shared/store, shared/blobstore) may",
					tc.pkg, len(found), strings.Join(found[:min(2, len(found))], ", "))
			}
		})
	}
}
