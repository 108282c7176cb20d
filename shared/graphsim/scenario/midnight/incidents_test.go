package midnight_test

import (
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
)

// TestIncidentsExpectedReferenceFindings: every member of an expected
// incident is an expected finding, none is a decoy, none is in two
// incidents, and every incident has two members or more.
func TestIncidentsExpectedReferenceFindings(t *testing.T) {
	exp, err := midnight.Expected()
	if err != nil {
		t.Fatal(err)
	}
	decoys, err := midnight.Decoys()
	if err != nil {
		t.Fatal(err)
	}
	incs, err := midnight.IncidentsExpected()
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) == 0 {
		t.Fatal("no expected incident")
	}
	known := make(map[string]bool)
	for _, e := range exp {
		known[e.Rule+" "+strings.ToLower(e.SubjectID)] = true
	}
	decoy := make(map[string]bool)
	for _, d := range decoys {
		decoy[d.Rule+" "+strings.ToLower(d.SubjectID)] = true
	}
	in := make(map[string]string)
	for _, inc := range incs {
		if len(inc.Findings) < 2 || inc.Name == "" || inc.Severity == "" {
			t.Errorf("incident %q: want a name, a severity and two findings or more", inc.Name)
		}
		for _, m := range inc.Findings {
			k := m.Rule + " " + strings.ToLower(m.SubjectID)
			if !known[k] {
				t.Errorf("incident %q: %s is not an expected finding", inc.Name, k)
			}
			if decoy[k] {
				t.Errorf("incident %q: %s is a decoy", inc.Name, k)
			}
			if other, dup := in[k]; dup {
				t.Errorf("%s in incidents %q and %q", k, other, inc.Name)
			}
			in[k] = inc.Name
		}
	}
}
