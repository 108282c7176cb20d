package audit

import (
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestNormActivity(t *testing.T) {
	t.Parallel()
	want := "update application - certificates and secrets management"
	for _, in := range []string{
		"Update application - Certificates and secrets management",
		"Update application – Certificates and secrets management",  // en dash
		"Update application — Certificates and secrets management",  // em dash
		"Update application ‒ Certificates and secrets management",  // figure dash
		"Update application ― Certificates and secrets management",  // horizontal bar
		"Update application − Certificates and secrets management",  // minus sign
		"Update application – Certificates and secrets management ", // trailing space, as in real logs
		"  update APPLICATION  -\tcertificates and secrets management. ",
		"Update application - Certificates and secrets management..",
	} {
		if got := normActivity(in); got != want {
			t.Errorf("normActivity(%q) = %q, want %q", in, got, want)
		}
	}
	if normActivity("Update application") == normActivity("Update application - Certificates and secrets management") {
		t.Error("distinct activities normalise to the same name")
	}
}

// TestActivityTable: every entry has a name, a family and a decoder, and no
// other entry of its family normalises to the same name (an activity may
// give events of several families: "Update application" carries reply URLs
// and federated identity credentials); a licence activity (and only that
// family) is reassembled from split events.
func TestActivityTable(t *testing.T) {
	t.Parallel()
	type nameFamily struct {
		name string
		f    family
	}
	seen := make(map[nameFamily]bool)
	for _, a := range directoryActivities {
		k := nameFamily{normActivity(a.name), a.family}
		if seen[k] {
			t.Errorf("%q: two entries of family %d", a.name, a.family)
		}
		seen[k] = true
	}
	for _, a := range directoryActivities {
		if a.name == "" || a.family == 0 || a.decode == nil {
			t.Errorf("entry %+v: want a name, a family and a decoder", a)
		}
		if (a.split != nil) != (a.family == familyLicences) {
			t.Errorf("%q: split decoder %v", a.name, a.split != nil)
		}
	}
	// UAL spells Entra activities with a trailing period.
	got := LicenceChanges([]tenant.AuditEvent{{Activity: "Change user license.", Targets: []tenant.Target{
		{ID: "u1", Type: "User", Modified: []tenant.ModifiedProperty{{Name: "AssignedLicense", Old: "[]", New: `["[SkuId=1]"]`}}},
	}}})
	if len(got) != 1 {
		t.Errorf("UAL spelling with a trailing period: %d events, want 1", len(got))
	}
}
