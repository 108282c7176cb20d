package report_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/report/ocsfcheck"
)

// ocsfSchemaDirs hold the OCSF 1.8.0 excerpt and the base objects it
// extends (see their READMEs).
var ocsfSchemaDirs = []string{filepath.Join("testdata", "ocsf-1.8.0"), filepath.Join("testdata", "ocsf-1.8.0-bases")}

// ocsfLines renders d as findings.ocsf.jsonl and splits it into lines.
func ocsfLines(t *testing.T, d *report.Document) [][]byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteOCSF(&b, d); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		t.Fatal("file does not end with a newline")
	}
	return bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
}

// TestOCSFSchema checks every event of the golden documents against the
// OCSF 1.8.0 Detection Finding class: required attributes, recommended
// ones (or a reasoned exception), no attribute the class or object does
// not define, enum values and types.
func TestOCSFSchema(t *testing.T) {
	t.Parallel()
	schema, err := ocsfcheck.Load(ocsfSchemaDirs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			lines := ocsfLines(t, d.doc)
			if len(d.doc.Findings) == 0 {
				if len(lines) != 1 || len(lines[0]) != 0 {
					t.Fatalf("no findings: want an empty file, got %q", lines)
				}
				return
			}
			if len(lines) != len(d.doc.Findings)+len(d.doc.Incidents) {
				t.Fatalf("%d lines for %d findings and %d incidents", len(lines), len(d.doc.Findings), len(d.doc.Incidents))
			}
			for i, line := range lines {
				for _, err := range schema.CheckLine("detection_finding", line, ocsfcheck.Omitted()) {
					t.Errorf("line %d: %v", i+1, err)
				}
			}
		})
	}
	// Objects the excerpt does not define are only checked to be objects.
	if got := schema.Unverified(); len(got) > 0 {
		t.Logf("objects not verified (not in the excerpt): %v", got)
	}
}

// TestOCSFSchemaCheckFails: the check catches what it claims to catch.
func TestOCSFSchemaCheckFails(t *testing.T) {
	t.Parallel()
	schema, err := ocsfcheck.Load(ocsfSchemaDirs...)
	if err != nil {
		t.Fatal(err)
	}
	good := ocsfLines(t, skippedDoc())[0]
	if errs := schema.CheckLine("detection_finding", good, ocsfcheck.Omitted()); len(errs) != 0 {
		t.Fatalf("good line fails: %v", errs)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"required missing", func(m map[string]any) { delete(m, "finding_info") }, "finding_info: required"},
		{"nested required missing", func(m map[string]any) { delete(m["finding_info"].(map[string]any), "uid") }, "finding_info.uid: required"},
		{"recommended missing", func(m map[string]any) { delete(m, "is_alert") }, "is_alert: recommended"},
		{"made-up key", func(m map[string]any) { m["tenantwatch_rule"] = "x" }, "tenantwatch_rule: not an attribute of detection_finding"},
		{"made-up nested key", func(m map[string]any) { m["metadata"].(map[string]any)["product"].(map[string]any)["edition"] = "x" }, "metadata.product.edition: not an attribute of product"},
		{"bad enum", func(m map[string]any) { m["severity_id"] = json.Number("7") }, "severity_id: 7 is not a value"},
		{"sibling caption", func(m map[string]any) { m["status"] = "Open" }, `sibling status = Open, want the caption "New"`},
		{"string for integer", func(m map[string]any) { m["time"] = "2024-05-01T12:00:00Z" }, "time: want an integer"},
		{"object for array", func(m map[string]any) { m["resources"] = m["resources"].([]any)[0] }, "resources: want an array"},
		{"type_uid", func(m map[string]any) { m["type_uid"] = json.Number("200402") }, "type_uid"},
		{"class_uid", func(m map[string]any) { m["class_uid"] = json.Number("2001") }, "class_uid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec := json.NewDecoder(bytes.NewReader(good))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			errs := schema.CheckLine("detection_finding", b, ocsfcheck.Omitted())
			if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), tc.want) }) {
				t.Errorf("errors %v do not include %q", errs, tc.want)
			}
		})
	}
}

// TestOCSFMapping pins the mapping of one finding.
func TestOCSFMapping(t *testing.T) {
	t.Parallel()
	line := ocsfLines(t, skippedDoc())[0]
	var ev struct {
		ActivityID  int   `json:"activity_id"`
		TypeUID     int   `json:"type_uid"`
		SeverityID  int   `json:"severity_id"`
		StatusID    int   `json:"status_id"`
		Time        int64 `json:"time"`
		FindingInfo struct {
			UID      string `json:"uid"`
			Title    string `json:"title"`
			Desc     string `json:"desc"`
			Analytic struct {
				UID    string `json:"uid"`
				TypeID int    `json:"type_id"`
			} `json:"analytic"`
			Attacks []struct {
				Technique    struct{ UID string } `json:"technique"`
				SubTechnique struct{ UID string } `json:"sub_technique"`
			} `json:"attacks"`
			FirstSeen int64 `json:"first_seen_time"`
			LastSeen  int64 `json:"last_seen_time"`
		} `json:"finding_info"`
		Resources []struct{ UID, Name, Type string } `json:"resources"`
		Metadata  struct {
			Version string
			Product struct {
				Name    string
				Version string
			}
			TenantUID string `json:"tenant_uid"`
		} `json:"metadata"`
		Unmapped struct {
			Evidence map[string]any `json:"evidence"`
		} `json:"unmapped"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		t.Fatal(err)
	}
	d := skippedDoc()
	f := d.Findings[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"activity_id", ev.ActivityID, 1},
		{"type_uid", ev.TypeUID, 200401},
		{"severity_id", ev.SeverityID, 4},
		{"status_id", ev.StatusID, 1},
		{"time", ev.Time, d.GeneratedAt.UnixMilli()},
		{"uid", ev.FindingInfo.UID, f.Key},
		{"title", ev.FindingInfo.Title, f.Title},
		{"desc", ev.FindingInfo.Desc, catalogue()[0].Description},
		{"analytic", ev.FindingInfo.Analytic.UID, "sp.credential-added"},
		{"analytic type", ev.FindingInfo.Analytic.TypeID, 1},
		{"technique", ev.FindingInfo.Attacks[0].Technique.UID, "T1098"},
		{"sub-technique", ev.FindingInfo.Attacks[0].SubTechnique.UID, "T1098.001"},
		{"first seen", ev.FindingInfo.FirstSeen, f.ObservedAt.UnixMilli()},
		{"last seen", ev.FindingInfo.LastSeen, f.ObservedAt.UnixMilli()},
		{"resource", ev.Resources[0], struct{ UID, Name, Type string }{f.Subject.ID, f.Subject.Name, "servicePrincipal"}},
		{"version", ev.Metadata.Version, "1.8.0"},
		{"product", ev.Metadata.Product.Name + " " + ev.Metadata.Product.Version, "tenantwatch 1.0.0-test"},
		{"tenant", ev.Metadata.TenantUID, d.TenantID},
		{"evidence", ev.Unmapped.Evidence["keyId"], "k"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
