package collect

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestPartialCoversMidnightSources: a round's partial snapshot marks the
// sources of the 2023–2025 rules unavailable until the round reads them,
// so that no rule runs on data a round did not read.
func TestPartialCoversMidnightSources(t *testing.T) {
	s := partial(Window{Round: "PollDirectory"})
	for _, src := range []tenant.Source{tenant.SourceSignInsBeta, tenant.SourceDevices, tenant.SourceDelegatedGrants,
		tenant.SourceAuthorizationPolicy, tenant.SourceDomains, tenant.SourceCAGroupMembers, tenant.SourceFederatedCredentials} {
		if s.Available(src) || s.Unavailable[src] != "not read by PollDirectory" {
			t.Errorf("%s: available %v, reason %q", src, s.Available(src), s.Unavailable[src])
		}
	}
}

// TestCAGroups: the groups of enabled policies only, lower case, once
// each, GUIDs only.
func TestCAGroups(t *testing.T) {
	got := caGroups([]tenant.CAPolicy{
		{State: "enabled", IncludeGroups: []string{"BBBBBBBB-0000-0000-0000-000000000002"}, ExcludeGroups: []string{"aaaaaaaa-0000-0000-0000-000000000001", "All"}},
		{State: "enabled", ExcludeGroups: []string{"bbbbbbbb-0000-0000-0000-000000000002", " not-a-guid "}},
		{State: "enabledForReportingButNotEnforced", ExcludeGroups: []string{"cccccccc-0000-0000-0000-000000000003"}},
		{State: "disabled", ExcludeGroups: []string{"dddddddd-0000-0000-0000-000000000004"}},
	})
	want := []string{"aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("caGroups = %v, want %v", got, want)
	}
}
