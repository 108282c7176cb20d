package audit_test

import (
	"fmt"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// A rule reads typed events: the keys a credential event added and the
// object it added them to, with the record's JSON-in-a-string values and
// the activity's spelling (here an en dash and a trailing space) already
// dealt with.
func ExampleCredentialChanges() {
	records := []tenant.AuditEvent{{
		Activity: "Update application – Certificates and secrets management ",
		Result:   "success",
		Targets: []tenant.Target{{
			ID: "0b6a2c7e-4f1d-4c55-9a7e-1f2d3c4b5a69", Type: "Application", DisplayName: "Payroll",
			Modified: []tenant.ModifiedProperty{{
				Name: "KeyDescription",
				Old:  `[]`,
				New:  `["[KeyIdentifier=5b8a2c1d-9e7f-4a3b-8c6d-1e2f3a4b5c6d,KeyType=Password,KeyUsage=Verify,DisplayName=CN=Payroll, Inc]"]`,
			}},
		}},
	}}
	for _, c := range audit.CredentialChanges(records) {
		for _, k := range c.Added() {
			fmt.Printf("%s %s: %s key %s named %q\n", c.Object.Type, c.Object.ID, k.Type, k.ID, k.DisplayName)
		}
	}
	// Output:
	// application 0b6a2c7e-4f1d-4c55-9a7e-1f2d3c4b5a69: Password key 5b8a2c1d-9e7f-4a3b-8c6d-1e2f3a4b5c6d named "CN=Payroll, Inc"
}
