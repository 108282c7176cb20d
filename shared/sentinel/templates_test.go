package sentinel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/sentinel"
)

const repoRoot = "../.."

// TestSchemaFile: infra/sentinel/schema.json, which sentinel.bicep reads
// for the tables and the rule's streams, is the package's schema.
func TestSchemaFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "infra/sentinel/schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type table struct {
		Table   string            `json:"table"`
		Stream  string            `json:"stream"`
		Columns []sentinel.Column `json:"columns"`
	}
	var got map[string]table
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]table{
		"findings":  {sentinel.FindingsTable, sentinel.FindingsStream, sentinel.FindingColumns()},
		"incidents": {sentinel.IncidentsTable, sentinel.IncidentsStream, sentinel.IncidentColumns()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("infra/sentinel/schema.json (-want +got):\n%s", diff)
	}
}

// TestColumnsMatchRows: every JSON field of a row is a column, in order.
func TestColumnsMatchRows(t *testing.T) {
	for _, tc := range []struct {
		row  any
		cols []sentinel.Column
	}{{sentinel.FindingRow{}, sentinel.FindingColumns()}, {sentinel.IncidentRow{}, sentinel.IncidentColumns()}} {
		b, _ := json.Marshal(tc.row)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		var names []string
		for _, c := range tc.cols {
			names = append(names, c.Name)
			if _, ok := m[c.Name]; !ok {
				t.Errorf("%T has no field for column %s", tc.row, c.Name)
			}
		}
		for k := range m {
			if !slices.Contains(names, k) {
				t.Errorf("%T field %s is no column", tc.row, k)
			}
		}
	}
}

// TestRuleFamiliesTyped: every registered rule's family has an incident
// type (a new family must choose one, and its template exists).
func TestRuleFamiliesTyped(t *testing.T) {
	n := 0
	for _, d := range detect.All() {
		n++
		if id := d.Rule().ID; sentinel.TypeOfRule(id) == "" {
			t.Errorf("rule %s: its family has no incident type (schema.go familyTypes)", id)
		}
	}
	if n < 20 {
		t.Fatalf("only %d rules registered", n)
	}
}

// TestAnalyticsRuleTemplates: infra/sentinel/rules/ holds one scheduled
// analytics rule per incident type, in the ARM shape Sentinel imports,
// whose query reads TenantWatchIncidents_CL's real columns, takes each
// incident's latest revision, selects its type, and maps Account, IP and
// CloudApplication entities to columns.
func TestAnalyticsRuleTemplates(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "infra/sentinel/rules/*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	cols := map[string]string{}
	for _, c := range sentinel.IncidentColumns() {
		cols[c.Name] = c.Type
	}
	typeRe := regexp.MustCompile(`\| where IncidentType == "([a-z-]+)"`)
	wordRe := regexp.MustCompile(`\b[A-Z][A-Za-z_]*\b`)
	seen := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tpl struct {
			Schema    string `json:"$schema"`
			Resources []struct {
				Type       string `json:"type"`
				Name       string `json:"name"`
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Properties struct {
					DisplayName, Query, Severity string
					QueryFrequency, QueryPeriod  string
					TriggerOperator              string
					Enabled                      bool
					SuppressionDuration          string `json:"suppressionDuration"`
					EntityMappings               []struct {
						EntityType    string `json:"entityType"`
						FieldMappings []struct {
							Identifier string `json:"identifier"`
							ColumnName string `json:"columnName"`
						} `json:"fieldMappings"`
					} `json:"entityMappings"`
					CustomDetails map[string]string `json:"customDetails"`
				} `json:"properties"`
			} `json:"resources"`
		}
		if err := json.Unmarshal(b, &tpl); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(f)
		if !strings.Contains(tpl.Schema, "deploymentTemplate.json") || len(tpl.Resources) != 1 {
			t.Errorf("%s: not an ARM template with one resource", name)
			continue
		}
		r := tpl.Resources[0]
		p := r.Properties
		if r.Type != "Microsoft.OperationalInsights/workspaces/providers/alertRules" || r.Kind != "Scheduled" ||
			!strings.Contains(r.Name, "/Microsoft.SecurityInsights/") || r.APIVersion == "" {
			t.Errorf("%s: %s kind %s named %s: want a Scheduled Microsoft.SecurityInsights alert rule", name, r.Type, r.Kind, r.Name)
		}
		if p.DisplayName == "" || !slices.Contains([]string{"High", "Medium", "Low", "Informational"}, p.Severity) || !p.Enabled ||
			p.QueryFrequency == "" || p.QueryPeriod == "" || p.TriggerOperator == "" || p.SuppressionDuration == "" {
			t.Errorf("%s: incomplete scheduled rule properties: %+v", name, p)
		}
		if !strings.HasPrefix(p.Query, sentinel.IncidentsTable+"\n") {
			t.Errorf("%s: the query does not read %s", name, sentinel.IncidentsTable)
		}
		if !strings.Contains(p.Query, "arg_max(Revision, *) by IncidentId") {
			t.Errorf("%s: the query does not take each incident's latest revision", name)
		}
		m := typeRe.FindStringSubmatch(p.Query)
		if m == nil || !slices.Contains(sentinel.IncidentTypes(), m[1]) {
			t.Errorf("%s: the query selects no known incident type (%v)", name, m)
		} else {
			if other, dup := seen[m[1]]; dup {
				t.Errorf("%s and %s both select %s", other, name, m[1])
			}
			seen[m[1]] = name
			if name != m[1]+".json" {
				t.Errorf("%s selects %s: name it %s.json", name, m[1], m[1])
			}
		}
		for _, w := range wordRe.FindAllString(p.Query, -1) {
			if _, ok := cols[w]; !ok && w != sentinel.IncidentsTable {
				t.Errorf("%s: the query names %s, which is no column of %s", name, w, sentinel.IncidentsTable)
			}
		}
		want := map[string]string{"Account": "FullName", "IP": "Address", "CloudApplication": "AppId"}
		got := map[string]string{}
		for _, em := range p.EntityMappings {
			for _, fm := range em.FieldMappings {
				got[em.EntityType] = fm.Identifier
				if cols[fm.ColumnName] != "string" {
					t.Errorf("%s: %s.%s maps column %s, which is no string column of %s", name, em.EntityType, fm.Identifier, fm.ColumnName, sentinel.IncidentsTable)
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: entity mappings (-want +got):\n%s", name, diff)
		}
		for _, m := range regexp.MustCompile(`\{\{(\w+)\}\}`).FindAllStringSubmatch(string(b), -1) {
			if cols[m[1]] != "string" {
				t.Errorf("%s: alert details name {{%s}}, no string column", name, m[1])
			}
		}
		for k, c := range p.CustomDetails {
			if _, ok := cols[c]; !ok {
				t.Errorf("%s: custom detail %s names %s, no column", name, k, c)
			}
		}
	}
	for _, typ := range sentinel.IncidentTypes() {
		if _, ok := seen[typ]; !ok {
			t.Errorf("no analytics rule template for incident type %s (infra/sentinel/rules/%s.json)", typ, typ)
		}
	}
}
