package azureip_test

import (
	"bytes"
	"context"
	"fmt"
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

// TestFetchErrorsShowNoSecret: an answer that quotes the request (a
// gateway's error page: the Authorization header, a signed URL) and a
// transport error are reported without the token or the signature, still
// naming the endpoint and the status.
func TestFetchErrorsShowNoSecret(t *testing.T) {
	const token = "eyJ0eXAiOiJKV1QiPlantedArmToken.eyJhdWQiOiJhcm0i.c2lnbmF0dXJl"
	const sig = "PlantedArmSig0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":{"code":"AuthorizationFailed","message":"request %s?sig=%s with Authorization: %s; token %s refused"}}`,
			r.URL.Path, sig, r.Header.Get("Authorization"), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer srv.Close()
	u := azureip.DiscoveryURL(srv.URL, "00000000-0000-0000-0000-000000000001", "westeurope")
	_, err := azureip.Fetch(context.Background(), srv.Client(), u, token)
	if err == nil {
		t.Fatal("a 403 was accepted")
	}
	msg := err.Error()
	for _, s := range []string{token, sig} {
		if strings.Contains(msg, s) {
			t.Errorf("the error shows %q: %s", s, msg)
		}
	}
	for _, want := range []string{"403", "AuthorizationFailed", srv.URL + "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Network/locations/westeurope/serviceTags"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not name %q: %s", want, msg)
		}
	}

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	_, err = azureip.Fetch(context.Background(), nil, gone.URL+"/subscriptions/s/x?api-version=1&sig="+sig, token)
	if err == nil || strings.Contains(err.Error(), sig) || !strings.Contains(err.Error(), gone.URL+"/subscriptions/s/x") {
		t.Errorf("unreachable: %v", err)
	}
}
