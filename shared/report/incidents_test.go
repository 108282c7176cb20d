package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestIncidentsLead: report.html and the summary open with the incidents,
// before what changed and before the findings; a report without incidents
// has no such section.
func TestIncidentsLead(t *testing.T) {
	t.Parallel()
	d := comparedDoc()
	d.Incidents = hostileDoc().Incidents
	page := string(render(t, "html", d))
	inc, changes, findings := strings.Index(page, `<section id="incidents">`), strings.Index(page, `<section id="changes">`), strings.Index(page, `<section id="findings">`)
	if inc < 0 || changes < 0 || findings < 0 || inc > changes || changes > findings {
		t.Errorf("sections at incidents %d, changes %d, findings %d: want incidents first", inc, changes, findings)
	}
	txt := string(render(t, "txt", d))
	if i, j := strings.Index(txt, "Incidents: 1"), strings.Index(txt, "Findings:"); i < 0 || j < 0 || i > j {
		t.Errorf("summary does not lead with the incidents:\n%s", txt)
	}
	if strings.Contains(string(render(t, "html", emptyDoc())), `id="incidents"`) {
		t.Error("an incidents section without incidents")
	}
}

// TestOCSFIncidentLine: the incident's line names its findings' lines in
// related_events, after them.
func TestOCSFIncidentLine(t *testing.T) {
	t.Parallel()
	d := hostileDoc()
	lines := ocsfLines(t, d)
	var last struct {
		FindingInfo struct {
			UID           string `json:"uid"`
			RelatedEvents []struct {
				UID     string `json:"uid"`
				TypeUID int    `json:"type_uid"`
			} `json:"related_events"`
			Count int `json:"related_events_count"`
		} `json:"finding_info"`
		Unmapped struct {
			Incident bool `json:"incident"`
		} `json:"unmapped"`
	}
	if err := json.NewDecoder(bytes.NewReader(lines[len(lines)-1])).Decode(&last); err != nil {
		t.Fatal(err)
	}
	inc := d.Incidents[0]
	if last.FindingInfo.UID != inc.ID || !last.Unmapped.Incident || last.FindingInfo.Count != len(inc.Findings) {
		t.Fatalf("last line is not the incident: %+v", last)
	}
	uids := make(map[string]bool)
	for _, l := range lines[:len(lines)-1] {
		var ev struct {
			FindingInfo struct {
				UID string `json:"uid"`
			} `json:"finding_info"`
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatal(err)
		}
		uids[ev.FindingInfo.UID] = true
	}
	if len(last.FindingInfo.RelatedEvents) != len(inc.Findings) {
		t.Fatalf("%d related events, want %d", len(last.FindingInfo.RelatedEvents), len(inc.Findings))
	}
	for i, r := range last.FindingInfo.RelatedEvents {
		if r.UID != inc.Findings[i] || !uids[r.UID] || r.TypeUID != 200401 {
			t.Errorf("related event %d = %+v: not a finding line of the file", i, r)
		}
	}
}
