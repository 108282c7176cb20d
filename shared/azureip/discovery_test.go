package azureip_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
)

// The Discovery API answers with the file's "values" shape wrapped as a
// Resource Manager resource (Get-AzNetworkServiceTag's documented output):
// Parse reads it as it is.
func TestFetchDiscovery(t *testing.T) {
	file, err := os.ReadFile("testdata/servicetags-sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotPath, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.RequestURI(), r.Header.Get("Authorization")
		if gotAuth != "Bearer tok" {
			http.Error(w, `{"error":{"code":"AuthenticationFailed"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// An ARM wrapper around the same values.
		body := bytes.Replace(file, []byte("{"), []byte(`{"name":"Public","id":"/subscriptions/s/providers/Microsoft.Network/serviceTags/Public","type":"Microsoft.Network/serviceTags",`), 1)
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	u := azureip.DiscoveryURL(srv.URL+"/", "00000000-0000-0000-0000-000000000001", "westeurope")
	b, err := azureip.Fetch(context.Background(), srv.Client(), u, "tok")
	if err != nil {
		t.Fatal(err)
	}
	want := "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Network/locations/westeurope/serviceTags?api-version=" + azureip.DiscoveryAPIVersion
	if gotPath != want {
		t.Errorf("path = %s, want %s", gotPath, want)
	}
	set, err := azureip.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !set.Contains(netip.MustParseAddr("13.74.179.117")) {
		t.Error("an AzureCloud.northeurope address is not in the fetched ranges")
	}

	if _, err := azureip.Fetch(context.Background(), srv.Client(), u, "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unauthorised fetch: %v", err)
	}
}
