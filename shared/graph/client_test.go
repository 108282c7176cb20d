package graph_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestNewClientURL: which Graph roots NewClient accepts, per auth mode.
func TestNewClientURL(t *testing.T) {
	t.Parallel()
	cred := &fakeCredential{}
	tests := []struct {
		url     string
		auth    graph.Auth
		wantErr string // substring; "" = accepted
	}{
		{"http://127.0.0.1:8080", graph.AuthNone, ""},
		{"http://127.0.0.2:8080/prefix/", graph.AuthNone, ""},
		{"http://localhost:7071/sim", graph.AuthNone, ""},
		{"http://[::1]:8080", graph.AuthNone, ""},
		{"https://graph.microsoft.com", graph.AuthNone, "refusing unauthenticated requests to https://graph.microsoft.com"},
		{"", graph.AuthNone, "refusing unauthenticated requests to https://graph.microsoft.com"},
		{"http://example.com", graph.AuthNone, "only for loopback hosts"},
		{"http://10.0.0.1", graph.AuthNone, "only for loopback hosts"},
		{"http://127.0.0.1.nip.io", graph.AuthNone, "only for loopback hosts"},
		{"", graph.AuthAzure, ""},
		{"https://graph.microsoft.us", graph.AuthAzure, ""},
		{"https://graph.contoso-proxy.example/graph", graph.AuthAzure, ""},
		{"http://localhost:8080", graph.AuthAzure, ""},
		{"http://graph.contoso-proxy.example", graph.AuthAzure, "tokens are only sent over https"},
		{"https://graph.microsoft.com/v1.0", graph.AuthAzure, "without the version"},
		{"https://graph.microsoft.com/beta/", graph.AuthAzure, "without the version"},
		{"graph.microsoft.com", graph.AuthAzure, "want an absolute http(s) url"},
		{"ftp://graph.microsoft.com", graph.AuthAzure, "want an absolute http(s) url"},
		{"https://graph.microsoft.com?x=1", graph.AuthAzure, "no user, query or fragment"},
		{"http://127.0.0.1", graph.Auth(7), "unknown auth auth(7)"},
	}
	for _, tc := range tests {
		_, err := graph.NewClient(tc.url, tc.auth, &graph.ClientOptions{Credential: cred})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("NewClient(%q, %v) = %v, want ok", tc.url, tc.auth, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("NewClient(%q, %v) = %v, want error containing %q", tc.url, tc.auth, err, tc.wantErr)
		}
	}
}

// TestAuthAzure: tokens from the credential go to the graphURL host (a
// non-default Graph host), on every page, with the Graph scope.
func TestAuthAzure(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("users-signin-p1.json", "users-signin-p2.json", "users-signin-p3.json"))
	cred := &fakeCredential{}
	c, err := graph.NewClient(f.root(), graph.AuthAzure, &graph.ClientOptions{Credential: cred, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(func(fn func(tenant.User) error) error { return c.Users(t.Context(), true, fn) }); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer test-token" {
			t.Errorf("request %d: Authorization = %q", i, got)
		}
	}
	cred.mu.Lock()
	defer cred.mu.Unlock()
	if len(cred.scopes) == 0 {
		t.Fatal("credential never asked")
	}
	if diff := cmp.Diff([]string{"https://graph.microsoft.com/.default"}, cred.scopes[0]); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

// TestCredentialError: a credential that cannot get a token fails the read
// with a message about the credential, not about the network, and keeps the
// credential's error reachable.
func TestCredentialError(t *testing.T) {
	t.Parallel()
	f := newFake(t, pages("users.json"))
	credErr := errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing environment variables")
	c, err := graph.NewClient(f.root(), graph.AuthAzure, &graph.ClientOptions{Credential: &fakeCredential{err: credErr}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Users(t.Context(), false, func(tenant.User) error { return nil })
	checkSentinel(t, err, nil)
	if !errors.Is(err, credErr) {
		t.Errorf("err = %v, want the credential's error reachable", err)
	}
	want := "graph: GET /users: cannot get a token: DefaultAzureCredential: failed to acquire a token. Attempted credentials: EnvironmentCredential: missing environment variables (check the azure credential"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err, want)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

// newTLSServer returns the root URL of an https server whose certificate
// the default transport does not trust.
func newTLSServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request got through an untrusted certificate: %s", r.URL)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is the point
	t.Cleanup(srv.Close)
	return srv.URL
}
