package graph

import (
	"testing"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestDeltaFields: every property a delta round selects is a property of
// the SDK's model under exactly that name (a misspelt name would never be
// present), and fits the presence bit set.
func TestDeltaFields(t *testing.T) {
	check := func(name, list string, create serialization.ParsableFactory) {
		t.Helper()
		names := fields(list)
		if len(names) > maxTracked {
			t.Errorf("%s: %d properties, tracked holds %d", name, len(names), maxTracked)
		}
		m, err := create(nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fs := m.GetFieldDeserializers()
		for _, n := range names {
			if _, ok := fs[n]; !ok {
				t.Errorf("%s: the SDK model has no property %q", name, n)
			}
		}
	}
	check("users", usersDelta.fields, models.CreateUserFromDiscriminatorValue)
	check("servicePrincipals", servicePrincipalsDelta.fields, models.CreateServicePrincipalFromDiscriminatorValue)
	check("applications", applicationsDelta.fields, models.CreateApplicationFromDiscriminatorValue)
}

// TestIsGUID: only the 8-4-4-4-12 hex form passes, so that nothing else
// can reach a filter literal or a path segment.
func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0":   true,
		"6EA91A8D-E32E-41A1-B7BD-D2D185EED0E0":   true,
		"00000002-0000-0ff1-ce00-000000000000":   true,
		"":                                       false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e":    false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0a":  false,
		"{6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0}": false,
		"6ea91a8de32e41a1b7bdd2d185eed0e0":       false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed0g0":   false,
		"6ea91a8d-e32e-41a1-b7bd-d2d185eed'0)":   false,
		"6ea91a8d+e32e-41a1-b7bd-d2d185eed0e0":   false,
	} {
		if got := isGUID(s); got != want {
			t.Errorf("isGUID(%q) = %v, want %v", s, got, want)
		}
	}
}
