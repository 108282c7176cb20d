package cli_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
)

// TestScanMidnight scans the midnight scenario (the 2024–2025 chain) and
// holds the scan to the scenario's expected.json and decoys.json for every
// rule the catalogue has: exactly the expected findings of those rules,
// nothing on a decoy. The scenario's predictions for rules not yet in the
// catalogue are checked once they are registered.
func TestScanMidnight(t *testing.T) {
	url, _ := startSim(t, &graphsim.Options{Scenario: midnight.Scenario(), Seed: 5})
	out := t.TempDir()
	r := runCLI(t, "scan", "--graph-url", url, "--auth", "none", "--since", "720h",
		"--azure-ip-ranges", serviceTags, "--out", out)
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	f := readFindings(t, out)
	var registered []string
	for _, d := range detect.All() {
		registered = append(registered, d.Rule().ID)
	}
	exp, err := midnight.Expected()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range exp {
		if slices.Contains(registered, e.Rule) {
			want = append(want, fmt.Sprintf("%s %s %s", e.Rule, strings.ToLower(e.SubjectID), e.Severity))
		}
	}
	sort.Strings(want)
	if len(want) < 5 {
		t.Fatalf("only %d expected findings of registered rules", len(want))
	}
	if diff := cmp.Diff(want, f.triples()); diff != "" {
		t.Errorf("findings (-expected +got):\n%s", diff)
	}
	decoys, err := midnight.Decoys()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range decoys {
		for _, x := range f.Findings {
			if x.Rule == d.Rule && strings.EqualFold(x.Subject.ID, d.SubjectID) {
				t.Errorf("decoy flagged: %s on %s: %s", d.Rule, x.Subject.Name, d.Why)
			}
		}
	}
}
