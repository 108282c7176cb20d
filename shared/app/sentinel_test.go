package app_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/app"
	"github.com/tenantwatch/tenantwatch/shared/azuritetest"
	"github.com/tenantwatch/tenantwatch/shared/config"
	"github.com/tenantwatch/tenantwatch/shared/doctor"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
)

// TestSentinelWiring: the two settings turn the Log Analytics sink on with
// the app's one credential (built even when Graph and storage need none),
// and the deployed Doctor says so without asking for a token: it sends
// nothing. Without them the line says the sink is off.
func TestSentinelWiring(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	sim, err := graphsim.New(&graphsim.Options{Scenario: empty.Scenario()})
	if err != nil {
		t.Fatal(err)
	}
	graphSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(graphSrv.Close)
	for _, tc := range []struct {
		name     string
		settings map[string]string
		builds   int
		status   doctor.Status
		detail   string
	}{
		{"off", nil, 0, doctor.StatusSkip, "not configured: findings and incidents go to Teams and the reports only (TENANTWATCH_SENTINEL_ENDPOINT, TENANTWATCH_SENTINEL_RULE_ID; azd: TENANTWATCH_SENTINEL_WORKSPACE)"},
		{"on", map[string]string{
			"TENANTWATCH_SENTINEL_ENDPOINT": "https://dce-tw.westeurope-1.ingest.monitor.azure.com",
			"TENANTWATCH_SENTINEL_RULE_ID":  "dcr-0123456789abcdef0123456789abcdef",
		}, 1, doctor.StatusOK, "configured: rule dcr-0123456789abcdef0123456789abcdef at dce-tw.westeurope-1.ingest.monitor.azure.com; no rows sent by doctor; nothing waiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := merge(map[string]string{
				"AzureWebJobsStorage":          az.ConnectionString(),
				"TENANTWATCH_GRAPH_URL":        graphSrv.URL,
				"TENANTWATCH_GRAPH_AUTH":       "none",
				"TENANTWATCH_TABLE_PREFIX":     "sn" + tc.name,
				"TENANTWATCH_REPORT_CONTAINER": "sn-" + tc.name,
			}, tc.settings)
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			f := &factory{}
			svc, err := app.NewWithCredential(t.Context(), cfg, "test", slog.New(slog.DiscardHandler), f.build)
			if err != nil {
				t.Fatal(err)
			}
			b, err := svc.Doctor(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var r doctor.Report
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			var got *doctor.Check
			for i, c := range r.Checks {
				if c.Name == "Log Analytics sink" {
					got = &r.Checks[i]
				}
			}
			if got == nil || got.Status != tc.status || got.Detail != tc.detail {
				t.Errorf("doctor's line = %+v, want %s %q", got, tc.status, tc.detail)
			}
			if n := len(f.builds()); n != tc.builds {
				t.Errorf("%d credentials built, want %d", n, tc.builds)
			}
			// Doctor reads the Management Activity API with the credential
			// once there is one; it never asks for a Logs Ingestion token.
			for _, s := range f.cred.asked() {
				if strings.Contains(s, "monitor.azure.com") {
					t.Errorf("the credential was asked for %q: doctor must send nothing to Log Analytics", s)
				}
			}
		})
	}
}
