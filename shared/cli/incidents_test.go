package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
)

// TestScanIncidents scans each scenario's tenant and asserts exactly its
// expected incidents (data/incidents-expected.json): each attack chain one
// incident with exactly its findings, at its severity; no decoy in any
// incident; incidents name only findings of the file, each at most once;
// the summary and report.html lead with them.
func TestScanIncidents(t *testing.T) {
	for _, sc := range []struct {
		scenario *graphsim.Scenario
		seed     int64
	}{
		{apt29.Scenario(), 1},
		{midnight.Scenario(), 5},
	} {
		t.Run(sc.scenario.Name, func(t *testing.T) {
			testScanIncidents(t, sc.scenario, sc.seed)
		})
	}
}

func testScanIncidents(t *testing.T, sc *graphsim.Scenario, seed int64) {
	url, _ := startSim(t, &graphsim.Options{Scenario: sc, Seed: seed})
	out := t.TempDir()
	r := runCLI(t, "scan", "--graph-url", url, "--auth", "none", "--since", "720h",
		"--azure-ip-ranges", serviceTags, "--out", out)
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	f := readFindings(t, out)
	subject := make(map[string]string) // finding key → "rule subjectId"
	for _, x := range f.Findings {
		subject[x.Key] = fmt.Sprintf("%s %s", x.Rule, strings.ToLower(x.Subject.ID))
	}

	var got []string
	seen := make(map[string]string)
	for _, inc := range f.Incidents {
		var members []string
		for _, k := range inc.Findings {
			m, ok := subject[k]
			if !ok {
				t.Errorf("incident %s names %q, not a finding of findings.json", inc.ID, k)
			}
			if other, dup := seen[k]; dup {
				t.Errorf("finding %q in incidents %s and %s", k, other, inc.ID)
			}
			seen[k] = inc.ID
			members = append(members, m)
		}
		slices.Sort(members)
		got = append(got, inc.Severity+": "+strings.Join(members, ", "))
	}
	exp, err := sc.IncidentsExpected()
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) == 0 {
		t.Fatal("incidents-expected.json lists no incident")
	}
	var want []string
	for _, e := range exp {
		var members []string
		for _, m := range e.Findings {
			members = append(members, fmt.Sprintf("%s %s", m.Rule, strings.ToLower(m.SubjectID)))
		}
		slices.Sort(members)
		want = append(want, e.Severity+": "+strings.Join(members, ", "))
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("incidents (-expected +got), one line per incident:\n%s", diff)
	}

	decoys, err := sc.Decoys()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range decoys {
		for _, inc := range f.Incidents {
			for _, k := range inc.Findings {
				if subject[k] == fmt.Sprintf("%s %s", d.Rule, strings.ToLower(d.SubjectID)) {
					t.Errorf("decoy %s on %s in incident %s: %s", d.Rule, d.SubjectID, inc.ID, d.Why)
				}
			}
		}
	}

	if i, j := strings.Index(r.stdout, "Incidents: "), strings.Index(r.stdout, "Findings: "); i < 0 || j < 0 || i > j {
		t.Errorf("the summary does not list the incidents first:\n%s", r.stdout)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(string(page), `<section id="incidents">`), strings.Index(string(page), `<section id="findings">`); i < 0 || i > j {
		t.Error("report.html does not open with the incidents")
	}
}
