package cli_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/detect"
)

// TestREADMERuleCatalogue keeps the README's rule catalogue in step with
// the registry: the same rules, with the same severity and MITRE ids.
func TestREADMERuleCatalogue(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Rule catalogue")
	if !ok {
		t.Fatal("README has no '## Rule catalogue' section")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([a-z]+\\.[a-z0-9-]+)` \\|([^|]*)\\|([^|]*)\\|[^|]*\\|([^|]*)\\|$")
	readme := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		readme[m[1]] = []string{strings.TrimSpace(m[3]), strings.TrimSpace(m[4])}
	}
	for _, d := range detect.All() {
		r := d.Rule()
		got, ok := readme[r.ID]
		if !ok {
			t.Errorf("%s is registered but not in the README catalogue", r.ID)
			continue
		}
		delete(readme, r.ID)
		if !strings.HasPrefix(got[0], r.Severity.String()) {
			t.Errorf("%s: README severity %q, registry %s", r.ID, got[0], r.Severity)
		}
		var mitre []string
		for _, m := range strings.Split(got[1], ",") {
			mitre = append(mitre, strings.TrimSpace(m))
		}
		if !slices.Equal(mitre, r.MITRE) {
			t.Errorf("%s: README MITRE %v, registry %v", r.ID, mitre, r.MITRE)
		}
	}
	for id := range readme {
		t.Errorf("README lists %s, which is not a registered rule", id)
	}
}

// TestREADMEScanFlags keeps the README's scan flag table in step with the
// flags scan accepts: every flag `scan -h` lists is in the table.
func TestREADMEScanFlags(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## Scan a real tenant")
	if !ok {
		t.Fatal("README has no '## Scan a real tenant' section")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	r := runCLI(t, "scan", "-h")
	flags := regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`).FindAllStringSubmatch(r.stdout, -1)
	if len(flags) < 10 {
		t.Fatalf("scan -h lists %d flags:\n%s", len(flags), r.stdout)
	}
	for _, m := range flags {
		row := regexp.MustCompile("(?m)^\\| [^|]*`--" + regexp.QuoteMeta(m[1]) + "`[^|]*\\|") // in a row's first cell
		if !row.MatchString(section) {
			t.Errorf("scan flag --%s is not in the README's flag table", m[1])
		}
	}
}
