package app_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantwatch/tenantwatch/shared/app"
	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

// factory is an identity.Factory that counts the credentials it builds.
type factory struct {
	mu      sync.Mutex
	built   []string // the client id of each credential built
	cred    *recordingCredential
	onToken func(scope string)
}

func (f *factory) build(clientID string) (azcore.TokenCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.built = append(f.built, clientID)
	f.cred = &recordingCredential{onToken: f.onToken}
	return f.cred, nil
}

func (f *factory) builds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.built)
}

// recordingCredential answers every scope with the token "token:<scope>"
// and records the scopes it is asked for.
type recordingCredential struct {
	mu      sync.Mutex
	scopes  []string
	onToken func(scope string)
}

func (c *recordingCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	scope := strings.Join(o.Scopes, " ")
	c.mu.Lock()
	c.scopes = append(c.scopes, scope)
	c.mu.Unlock()
	if c.onToken != nil {
		c.onToken(scope)
	}
	return azcore.AccessToken{Token: "token:" + scope, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (c *recordingCredential) asked() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(c.scopes)))
}

// bearers records the Authorization header of each request to h.
type bearers struct {
	mu   sync.Mutex
	seen []string
}

func (b *bearers) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Header.Get("Authorization"))
		b.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (b *bearers) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(b.seen)))
}

// TestOneCredential: a start of the app builds at most one credential —
// none when nothing signs in, one however many clients sign in (Graph,
// storage, the Service Tag Discovery API) — for the identity of
// AzureWebJobsStorage__clientId, and each client signs in with it.
func TestOneCredential(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	sim, err := graphsim.New(&graphsim.Options{Scenario: empty.Scenario()})
	if err != nil {
		t.Fatal(err)
	}
	var graphSaw, armSaw bearers
	graphSrv := httptest.NewServer(graphSaw.wrap(sim.Handler()))
	t.Cleanup(graphSrv.Close)
	arm := httptest.NewServer(armSaw.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"no access"}}`))
	})))
	t.Cleanup(arm.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	const (
		clientID   = "11111111-2222-3333-4444-555555555555"
		graphScope = "https://graph.microsoft.com/.default"
		storage    = "https://storage.azure.com/.default"
	)
	armScope := arm.URL + "/.default"
	discovery := map[string]string{
		"TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION": "00000000-0000-0000-0000-000000000009",
		"TENANTWATCH_ARM_URL":                   arm.URL,
		"TENANTWATCH_ALLOW_HTTP_LOOPBACK":       "true",
	}
	tests := []struct {
		name     string
		settings map[string]string
		run      func(ctx context.Context, svc *app.Service) error // after New
		wantErr  string                                            // New's error, a prefix
		builds   []string                                          // client ids of the credentials built
		scopes   []string                                          // the credential was asked for, sorted
		graph    []string                                          // Authorization headers Graph saw
		arm      []string                                          // Authorization headers Resource Manager saw
	}{
		{name: "nothing signs in: the simulated tenant, Azurite",
			settings: map[string]string{"TENANTWATCH_GRAPH_AUTH": "none"},
			run:      func(ctx context.Context, svc *app.Service) error { _, err := svc.Doctor(ctx); return err },
			graph:    []string{""}},
		{name: "Graph signs in",
			settings: map[string]string{"TENANTWATCH_GRAPH_AUTH": "azure"},
			run:      func(ctx context.Context, svc *app.Service) error { _, err := svc.Doctor(ctx); return err },
			// Doctor also lists the Management Activity API's subscriptions,
			// with the same credential (its own scope).
			builds: []string{""}, scopes: []string{graphScope, "https://manage.office.com/.default"}, graph: []string{"Bearer token:" + graphScope}},
		{name: "Resource Manager signs in",
			settings: merge(discovery, map[string]string{"TENANTWATCH_GRAPH_AUTH": "none"}),
			run:      func(ctx context.Context, svc *app.Service) error { return svc.DailySweep(ctx) },
			builds:   []string{""}, scopes: []string{armScope}, graph: []string{""}, arm: []string{"Bearer token:" + armScope}},
		{name: "Graph, storage and Resource Manager sign in: one credential",
			settings: merge(discovery, map[string]string{
				"TENANTWATCH_GRAPH_AUTH":                "azure",
				"AzureWebJobsStorage":                   "",
				"AzureWebJobsStorage__tableServiceUri":  dead,
				"AzureWebJobsStorage__blobServiceUri":   dead,
				"AzureWebJobsStorage__queueServiceUri":  dead,
				"AzureWebJobsStorage__clientId":         clientID,
				"AzureWebJobsStorage__credential":       "managedidentity",
				"TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION": "00000000-0000-0000-0000-000000000009",
			}),
			// Storage is unreachable: New stops at the tables, after
			// asking the credential for a storage token.
			wantErr: "table storage: ",
			builds:  []string{clientID}, scopes: []string{storage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := merge(map[string]string{
				"AzureWebJobsStorage":   az.ConnectionString(),
				"TENANTWATCH_GRAPH_URL": graphSrv.URL,
			}, tc.settings)
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("settings: %v", err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// The storage token is the barrier: the tables' request fails
			// at once instead of retrying an unreachable account.
			f := &factory{onToken: func(scope string) {
				if scope == storage {
					cancel()
				}
			}}
			graphSaw.reset()
			armSaw.reset()
			svc, err := app.NewWithCredential(ctx, cfg, "test", slog.New(slog.DiscardHandler), f.build)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("New = %v, want an error starting %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("New: %v", err)
			default:
				if err := tc.run(ctx, svc); err != nil {
					t.Fatalf("after New: %v", err)
				}
			}
			if got := f.builds(); !slices.Equal(got, tc.builds) {
				t.Errorf("credentials built for client ids %q, want %q", got, tc.builds)
			}
			if got := f.cred.asked(); !slices.Equal(got, tc.scopes) {
				t.Errorf("the credential was asked for %q, want %q", got, tc.scopes)
			}
			if got := graphSaw.all(); !slices.Equal(got, tc.graph) {
				t.Errorf("Graph saw Authorization %q, want %q", got, tc.graph)
			}
			if got := armSaw.all(); !slices.Equal(got, tc.arm) {
				t.Errorf("Resource Manager saw Authorization %q, want %q", got, tc.arm)
			}
		})
	}
}

func (b *bearers) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen = nil
}

// merge returns the union of ms, later maps winning.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
