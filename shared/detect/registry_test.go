package detect_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/detect"
)

var (
	ruleID  = regexp.MustCompile(`^[a-z]+\.[a-z0-9-]+$`)
	mitreID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	ds := detect.All()
	if len(ds) == 0 {
		t.Fatal("All() is empty")
	}
	seen := make(map[string]bool)
	for _, d := range ds {
		r := d.Rule()
		if seen[r.ID] {
			t.Errorf("duplicate rule id %q", r.ID)
		}
		seen[r.ID] = true
		if !ruleID.MatchString(r.ID) {
			t.Errorf("rule id %q does not match %s", r.ID, ruleID)
		}
		if strings.TrimSpace(r.Title) == "" || strings.TrimSpace(r.Description) == "" {
			t.Errorf("%s: title or description missing", r.ID)
		}
		if !r.Severity.Valid() {
			t.Errorf("%s: invalid severity %d", r.ID, r.Severity)
		}
		if len(r.MITRE) == 0 {
			t.Errorf("%s: no MITRE technique", r.ID)
		}
		for _, m := range r.MITRE {
			if !mitreID.MatchString(m) {
				t.Errorf("%s: MITRE id %q does not match %s", r.ID, m, mitreID)
			}
		}
		if len(r.Sources) == 0 {
			t.Errorf("%s: no source", r.ID)
		}
		if len(r.Sources) != len(slices.Compact(slices.Sorted(slices.Values(r.Sources)))) {
			t.Errorf("%s: repeated source in %v", r.ID, r.Sources)
		}
		// The file that holds the detector is named after the rule.
		file := strings.NewReplacer(".", "", "-", "").Replace(r.ID) + ".go"
		if _, err := os.Stat(file); err != nil {
			t.Errorf("%s: want the detector in %s: %v", r.ID, file, err)
		}
		cases := caseNames(t, r.ID)
		if len(cases) == 0 {
			t.Errorf("%s: no cases in testdata/%s/", r.ID, r.ID)
		}
		for _, c := range cases {
			if _, err := os.Stat(filepath.Join("testdata", r.ID, c+".golden.json")); err != nil {
				t.Errorf("%s: case %s has no golden file", r.ID, c)
			}
		}
	}
	// Every rule folder belongs to a registered rule.
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "fuzz" && !seen[e.Name()] {
			t.Errorf("testdata/%s: no registered rule of that id", e.Name())
		}
	}
}

// TestRuleIsConstant checks Rule() describes the same rule on every call
// and All() builds a fresh list each time.
func TestRuleIsConstant(t *testing.T) {
	t.Parallel()
	a, b := detect.All(), detect.All()
	if len(a) != len(b) {
		t.Fatal("All() changed length")
	}
	for i := range a {
		ra, rb := a[i].Rule(), b[i].Rule()
		if ra.ID != rb.ID || ra.Title != rb.Title || !slices.Equal(ra.MITRE, rb.MITRE) || !slices.Equal(ra.Sources, rb.Sources) {
			t.Errorf("rule %d differs between calls: %+v vs %+v", i, ra, rb)
		}
		ra.MITRE[0] = "mutated"
		if a[i].Rule().MITRE[0] == "mutated" {
			t.Errorf("%s: Rule() shares its MITRE slice", ra.ID)
		}
	}
}
