package scenario_test

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario"
)

// TestEveryScenarioLoads builds a tenant of each named scenario, with
// synthetic users, and checks that its lists of expected findings and
// decoys parse and that its story's steps are unique.
func TestEveryScenarioLoads(t *testing.T) {
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != name {
				t.Errorf("Get(%q) returned scenario %q", name, sc.Name)
			}
			sim, err := graphsim.New(&graphsim.Options{Scenario: sc, Users: 10})
			if err != nil {
				t.Fatal(err)
			}
			if sim.TenantID() == "" {
				t.Error("no tenant id")
			}
			if _, err := sc.Expected(); err != nil {
				t.Error(err)
			}
			if _, err := sc.Decoys(); err != nil {
				t.Error(err)
			}
			seen := map[string]bool{}
			for _, step := range sim.AttackSteps() {
				if seen[step] {
					t.Errorf("step %q twice", step)
				}
				seen[step] = true
			}
		})
	}
	if _, err := scenario.Get("solarwinds"); err == nil {
		t.Error("unknown scenario accepted")
	}
	if scenario.Names()[0] != scenario.Default {
		t.Errorf("Names() = %v: the default %q is not first", scenario.Names(), scenario.Default)
	}
}
