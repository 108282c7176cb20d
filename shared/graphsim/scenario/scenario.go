// Package scenario lists the simulated tenant's scenarios by name, for
// `tenantwatch sim --scenario NAME` and the tests and demo that pick one.
// Each scenario is a package below this one holding its data (embedded
// JSON), the findings a scan must and must not report, and its attack
// story; a new scenario is a new package and a line in Names and Get.
package scenario

import (
	"fmt"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/empty"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
)

// Default is the scenario `tenantwatch sim` serves without --scenario.
const Default = apt29.Name

// Names lists the scenarios, the default first.
func Names() []string { return []string{apt29.Name, midnight.Name, empty.Name} }

// Get returns the scenario called name, or an error naming the known ones.
func Get(name string) (*graphsim.Scenario, error) {
	switch name {
	case apt29.Name:
		return apt29.Scenario(), nil
	case midnight.Name:
		return midnight.Scenario(), nil
	case empty.Name:
		return empty.Scenario(), nil
	}
	return nil, fmt.Errorf("unknown scenario %q (want one of %s)", name, strings.Join(Names(), ", "))
}
