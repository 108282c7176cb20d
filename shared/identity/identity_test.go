package identity_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/identity"
)

// identityEndpoint stands in for the managed identity endpoint of App
// Service and Azure Functions (IDENTITY_ENDPOINT, IDENTITY_HEADER): it
// records the identity each token request asks for and answers a token.
type identityEndpoint struct {
	mu       sync.Mutex
	requests []string // client_id of each request, "" for the system-assigned identity
}

const identityHeader = "test-identity-header"

func (e *identityEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-IDENTITY-HEADER") != identityHeader {
		http.Error(w, "wrong identity header", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	e.mu.Lock()
	e.requests = append(e.requests, q.Get("client_id"))
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	fmt.Fprintf(w, `{"access_token":"token-for-%s","expires_on":%q,"resource":%q,"token_type":"Bearer"}`,
		q.Get("client_id"), exp, q.Get("resource"))
}

func (e *identityEndpoint) asked() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.requests...)
}

// TestNew: the credential signs in as the user-assigned identity whose
// client id it is given, and without one as the default chain does:
// AZURE_CLIENT_ID's identity, else the system-assigned one. Tokens come
// from the hosting environment's managed identity endpoint (a local
// stand-in here), as in Azure Functions.
func TestNew(t *testing.T) {
	// The environment is the process's: not parallel.
	for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
		"AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS",
		"MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)  // azidentity tells unset from empty for some
	}
	tests := []struct {
		name          string
		clientID      string
		azureClientID string // AZURE_CLIENT_ID
		want          string // the client_id the identity endpoint is asked for
	}{
		{name: "user-assigned", clientID: "11111111-1111-1111-1111-111111111111", want: "11111111-1111-1111-1111-111111111111"},
		{name: "given id wins over AZURE_CLIENT_ID", clientID: "11111111-1111-1111-1111-111111111111",
			azureClientID: "22222222-2222-2222-2222-222222222222", want: "11111111-1111-1111-1111-111111111111"},
		{name: "default chain with AZURE_CLIENT_ID", azureClientID: "22222222-2222-2222-2222-222222222222",
			want: "22222222-2222-2222-2222-222222222222"},
		{name: "default chain, system-assigned", want: ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &identityEndpoint{}
			srv := httptest.NewServer(ep)
			defer srv.Close()
			t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
			t.Setenv("IDENTITY_HEADER", identityHeader)
			t.Setenv("AZURE_CLIENT_ID", tc.azureClientID)
			if tc.azureClientID == "" {
				os.Unsetenv("AZURE_CLIENT_ID") // set but empty asks for a user-assigned identity without an id
			}

			cred, err := identity.New(tc.clientID)
			if err != nil {
				t.Fatal(err)
			}
			// A scope of its own per case: no token cache can answer.
			scope := fmt.Sprintf("https://case%d.example/.default", i)
			tok, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if got := ep.asked(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("the identity endpoint was asked for client ids %q, want [%q]", got, tc.want)
			}
			if want := "token-for-" + tc.want; tok.Token != want {
				t.Errorf("token %q, want %q", tok.Token, want)
			}
		})
	}
}
