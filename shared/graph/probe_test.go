package graph_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graph"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
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
		tenant.SourceNamedLocations}
	client := func(o *graphsim.Options) (*graph.Client, *graphsim.Server) {
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
		if n > st.Requests[route] && !strings.Contains(route, "userRegistrationDetails") && !strings.Contains(route, "namedLocations") &&
			!strings.Contains(route, "policies") && !strings.Contains(route, "organization") && !strings.Contains(route, "subscribedSkus") {
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
}
