package graph_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestProbe: every probe reads one page of at most one item from the
// simulated tenant; a withheld permission is tenant.ErrAccessDenied, and
// LicenceMissing tells a tenant without P1/P2 apart from it.
func TestProbe(t *testing.T) {
	t.Parallel()
	probed := []tenant.Source{tenant.SourceOrganization, tenant.SourceSubscribedSkus, tenant.SourceUsers,
		tenant.SourceSignInActivity, tenant.SourceGroups, tenant.SourceRegistrations, tenant.SourceServicePrincipals,
		tenant.SourceApplications, tenant.SourceDirectoryAudits, tenant.SourceSignIns, tenant.SourceCAPolicies,
		tenant.SourceNamedLocations, tenant.SourceSignInsBeta, tenant.SourceDevices, tenant.SourceDomains,
		tenant.SourceCAGroupMembers, tenant.SourceDelegatedGrants, tenant.SourceAuthorizationPolicy,
		tenant.SourceFederatedCredentials}
	client := func(o *graphsim.Options) (*graph.Client, *graphsim.Server) {
		if o.Scenario == nil {
			o.Scenario = apt29.Scenario()
		}
		s, err := graphsim.New(o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		c, err := graph.NewClient(srv.URL, graph.AuthNone, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}

	c, s := client(&graphsim.Options{})
	for _, src := range probed {
		if err := c.Probe(t.Context(), src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
	st := s.Stats()
	if st.Total != len(probed) {
		t.Errorf("%d requests for %d probes; want one each", st.Total, len(probed))
	}
	for route, n := range st.Items {
		if n > st.Requests[route] && !strings.Contains(route, "userRegistrationDetails") &&
			!strings.Contains(route, "policies") && !strings.Contains(route, "organization") && !strings.Contains(route, "subscribedSkus") &&
			// List domains and List oauth2PermissionGrants document no $top.
			!strings.Contains(route, "domains") && !strings.Contains(route, "oauth2PermissionGrants") {
			t.Errorf("%s served %d items to %d probes; want at most 1 each ($top=1)", route, n, st.Requests[route])
		}
	}
	if err := c.Probe(t.Context(), tenant.SourceAzureRanges); err == nil {
		t.Error("a source that is not a Graph read was probed")
	}

	c, _ = client(&graphsim.Options{Permissions: []string{"User.Read.All"}, NoPremium: true})
	err := c.Probe(t.Context(), tenant.SourceServicePrincipals)
	if !errors.Is(err, tenant.ErrAccessDenied) || graph.LicenceMissing(err) || !strings.Contains(err.Error(), "Application.Read.All") {
		t.Errorf("servicePrincipals without Application.Read.All: %v", err)
	}
	c, _ = client(&graphsim.Options{NoPremium: true})
	err = c.Probe(t.Context(), tenant.SourceSignIns)
	if !errors.Is(err, tenant.ErrAccessDenied) || !graph.LicenceMissing(err) {
		t.Errorf("sign-ins without P1/P2: %v; want access denied for the licence", err)
	}
	if err := c.Probe(t.Context(), tenant.SourceUsers); err != nil {
		t.Errorf("users without P1/P2: %v", err)
	}
	err = c.Probe(t.Context(), tenant.SourceSignInsBeta)
	if !errors.Is(err, tenant.ErrAccessDenied) || !graph.LicenceMissing(err) || !strings.Contains(err.Error(), "GET /beta/auditLogs/signIns") {
		t.Errorf("beta sign-ins without P1/P2: %v; want access denied for the licence", err)
	}

	// The issue 12 reads, each denied without its permission.
	c, _ = client(&graphsim.Options{Permissions: []string{"User.Read.All"}})
	for src, perm := range map[tenant.Source]string{tenant.SourceDevices: "Device.Read.All", tenant.SourceDomains: "Domain.Read.All",
		tenant.SourceDelegatedGrants: "Directory.Read.All", tenant.SourceAuthorizationPolicy: "Policy.Read.All"} {
		if err := c.Probe(t.Context(), src); !errors.Is(err, tenant.ErrAccessDenied) || !strings.Contains(err.Error(), "needs "+perm) {
			t.Errorf("%s without %s: %v", src, perm, err)
		}
	}

	// Beta switched off: nothing sent.
	sim, err := graphsim.New(&graphsim.Options{Scenario: apt29.Scenario()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	off, err := graph.NewClient(srv.URL, graph.AuthNone, &graph.ClientOptions{DisableBeta: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := off.Probe(t.Context(), tenant.SourceSignInsBeta); !errors.Is(err, tenant.ErrBetaDisabled) {
		t.Errorf("beta probe with DisableBeta: %v, want tenant.ErrBetaDisabled", err)
	}
	if n := sim.Stats().Total; n != 0 {
		t.Errorf("beta probe with DisableBeta sent %d requests", n)
	}
}

// TestActiveSKUs: the SKUs in force, with their plans; a tenant without
// P1/P2 has no AAD_PREMIUM plan among them; suspended SKUs are left out.
func TestActiveSKUs(t *testing.T) {
	t.Parallel()
	premium := func(o *graphsim.Options) (skus []string, plans []string) {
		if o.Scenario == nil {
			o.Scenario = apt29.Scenario()
		}
		s, err := graphsim.New(o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		c, err := graph.NewClient(srv.URL, graph.AuthNone, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ActiveSKUs(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, sku := range got {
			skus = append(skus, sku.SkuPartNumber)
			for _, p := range sku.ServicePlans {
				if strings.HasPrefix(p.Name, "AAD_PREMIUM") {
					plans = append(plans, p.Name+" in "+sku.SkuPartNumber)
				}
			}
		}
		return skus, plans
	}
	skus, plans := premium(&graphsim.Options{})
	if len(skus) != 4 || !slices.Contains(plans, "AAD_PREMIUM in AAD_PREMIUM") || !slices.Contains(plans, "AAD_PREMIUM_P2 in Microsoft_365_E5_(no_Teams)") {
		t.Errorf("the scenario's SKUs: %q, premium plans %q", skus, plans)
	}
	skus, plans = premium(&graphsim.Options{NoPremium: true})
	if len(skus) == 0 || len(plans) != 0 {
		t.Errorf("without P1/P2: SKUs %q, premium plans %q", skus, plans)
	}

	// Graph's shapes for SKUs out of force (subscribedSku: capabilityStatus
	// Enabled, Warning, Suspended, Deleted, LockedOut; prepaidUnits).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sel := r.URL.Query().Get("$select"); sel != "skuId,skuPartNumber,capabilityStatus,prepaidUnits,servicePlans" {
			t.Errorf("$select=%s", sel)
		}
		sku := func(part, status string, enabled, warning int) string {
			return fmt.Sprintf(`{"skuId":"078d2b04-f1bd-4111-bbd4-b4b1b354cef4","skuPartNumber":%q,"capabilityStatus":%q,`+
				`"prepaidUnits":{"enabled":%d,"warning":%d,"suspended":5,"lockedOut":0},`+
				`"servicePlans":[{"servicePlanId":"41781fb2-bc02-4b7c-bd55-b576c07bb09d","servicePlanName":"AAD_PREMIUM"}]}`, part, status, enabled, warning)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"value":[%s,%s,%s,%s,%s]}`, sku("ENABLED", "Enabled", 10, 0), sku("GRACE", "Warning", 0, 10),
			sku("SUSPENDED", "Suspended", 0, 0), sku("LOCKED", "LockedOut", 0, 0), sku("NO_UNITS", "Enabled", 0, 0))
	}))
	defer srv.Close()
	c, err := graph.NewClient(srv.URL, graph.AuthNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ActiveSKUs(t.Context())
	var parts []string
	for _, s := range got {
		parts = append(parts, s.SkuPartNumber)
	}
	if err != nil || !slices.Equal(parts, []string{"ENABLED", "GRACE"}) {
		t.Errorf("SKUs in force: %q, %v; want ENABLED and GRACE", parts, err)
	}
}
