package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// permissionRules returns, for each permission of the catalogue
// (shared/permission), the rules that are skipped without it: those with
// a source whose read needs it (each rule lists its sources).
func permissionRules() map[string][]string {
	out := make(map[string][]string)
	for _, e := range permission.All() {
		out[e.Name] = []string{}
		for _, d := range detect.All() {
			r := d.Rule()
			if slices.ContainsFunc(r.Sources, func(s tenant.Source) bool { return slices.Contains(e.Sources, s) }) {
				out[e.Name] = append(out[e.Name], r.ID)
			}
		}
		slices.Sort(out[e.Name])
	}
	return out
}

var backticked = regexp.MustCompile("`([^`]+)`")

// readmePermissionTable parses the README's table "permission | why |
// rules that need it": permission → the rule ids of its third column.
func readmePermissionTable(readme string) (map[string][]string, error) {
	const head = "| permission | why | rules that need it |"
	i := strings.Index(readme, head)
	if i < 0 {
		return nil, fmt.Errorf("no table starting %q", head)
	}
	known := make(map[string]bool)
	for _, d := range detect.All() {
		known[d.Rule().ID] = true
	}
	out := make(map[string][]string)
	for _, line := range strings.Split(readme[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			return nil, fmt.Errorf("row %q: %d cells, want 3", line, len(cells))
		}
		m := backticked.FindStringSubmatch(cells[0])
		if m == nil {
			return nil, fmt.Errorf("row %q: no `permission`", line)
		}
		if _, dup := out[m[1]]; dup {
			return nil, fmt.Errorf("%s is listed twice", m[1])
		}
		rules := []string{}
		for _, r := range backticked.FindAllStringSubmatch(cells[2], -1) {
			if !known[r[1]] {
				return nil, fmt.Errorf("%s: %q is not a rule", m[1], r[1])
			}
			rules = append(rules, r[1])
		}
		slices.Sort(rules)
		out[m[1]] = rules
	}
	return out, nil
}

// TestReadmePermissionTable: the README's permission table lists exactly
// the permissions the code needs (those infra/ grants), and for each
// exactly the rules that are skipped without it.
func TestReadmePermissionTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readmePermissionTable(string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := permissionRules()
	for p, rules := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("README permission table lacks %s", p)
		case !slices.Equal(g, rules):
			t.Errorf("README: %s → rules %v, want %v", p, g, rules)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("README permission table lists %s, which the code does not need", p)
		}
	}

	// The same check catches a drifted table.
	bad := strings.Replace(string(b), ", `sp.mail-access`", "", 1)
	if g, err := readmePermissionTable(bad); err == nil && slices.Equal(g["Application.Read.All"], want["Application.Read.All"]) {
		t.Error("a rule dropped from the table went unnoticed")
	}
}
