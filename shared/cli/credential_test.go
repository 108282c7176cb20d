package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

// countingCredentials is an identity.Factory whose credentials answer
// every scope with "token:<scope>"; it counts what it builds.
type countingCredentials struct {
	mu    sync.Mutex
	built []string // the client id of each credential built
}

func (c *countingCredentials) build(clientID string) (azcore.TokenCredential, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.built = append(c.built, clientID)
	return tokenFor{}, nil
}

func (c *countingCredentials) builds() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.built)
}

type tokenFor struct{}

func (tokenFor) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "token:" + strings.Join(o.Scopes, " "), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestOneCredential: scan and doctor build one credential with --auth
// azure (the default chain: no client id) and sign every Graph request in
// with it — and the Management Activity API's requests with a token for
// its own scope — and none with --auth none.
func TestOneCredential(t *testing.T) {
	t.Parallel()
	sim, err := graphsim.New(&graphsim.Options{Scenario: empty.Scenario()})
	if err != nil {
		t.Fatal(err)
	}
	// The empty tenant has no subscription: start it, so that doctor's
	// Audit.Exchange line passes.
	start := httptest.NewRecorder()
	sim.Handler().ServeHTTP(start, httptest.NewRequest(http.MethodPost, "/api/v1.0/"+sim.TenantID()+"/activity/feed/subscriptions/start?contentType=Audit.Exchange", nil))
	if start.Code != http.StatusOK {
		t.Fatalf("start: %d %s", start.Code, start.Body)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		builds []string
		auth   string // the Authorization header of every Graph request
		feed   string // … and of every Management Activity API request
		feeds  bool   // the command reads the Management Activity API
	}{
		{"scan --auth azure", []string{"scan", "--auth", "azure", "--progress", "never", "--start-subscriptions"}, cli.ExitOK,
			[]string{""}, "Bearer token:https://graph.microsoft.com/.default", "Bearer token:https://manage.office.com/.default", true},
		{"scan --auth none", []string{"scan", "--auth", "none", "--progress", "never", "--start-subscriptions"}, cli.ExitOK, nil, "", "", true},
		{"doctor --auth azure", []string{"doctor", "--auth", "azure"}, cli.ExitOK,
			[]string{""}, "Bearer token:https://graph.microsoft.com/.default", "Bearer token:https://manage.office.com/.default", true},
		{"doctor --auth none", []string{"doctor", "--auth", "none"}, cli.ExitOK, nil, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu   sync.Mutex
				seen []string
				feed []string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				if strings.Contains(r.URL.Path, "/activity/feed/") {
					feed = append(feed, r.Header.Get("Authorization"))
				} else {
					seen = append(seen, r.Header.Get("Authorization"))
				}
				mu.Unlock()
				sim.Handler().ServeHTTP(w, r)
			}))
			defer srv.Close()
			creds := &countingCredentials{}
			var out, errb bytes.Buffer
			env := &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, NewCredential: creds.build}
			code := cli.Run(t.Context(), append(tc.args, "--graph-url", srv.URL, "--activity-url", srv.URL), env)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, &out, &errb)
			}
			if got := creds.builds(); !slices.Equal(got, tc.builds) {
				t.Errorf("credentials built for client ids %q, want %q", got, tc.builds)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 {
				t.Fatal("Graph saw no request")
			}
			for i, a := range seen {
				if a != tc.auth {
					t.Errorf("Graph request %d: Authorization %q, want %q", i, a, tc.auth)
				}
			}
			if tc.feeds && len(feed) == 0 {
				t.Error("the Management Activity API saw no request")
			}
			for i, a := range feed {
				if a != tc.feed {
					t.Errorf("Management Activity API request %d: Authorization %q, want %q", i, a, tc.feed)
				}
			}
		})
	}
}
