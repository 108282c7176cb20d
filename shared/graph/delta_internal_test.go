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
