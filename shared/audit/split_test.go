package audit

import (
	"encoding/json"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// chunk is one split event of group id.
func chunk(id, seq, c, b string) tenant.AuditEvent {
	return tenant.AuditEvent{ID: id + seq, Activity: "Update user", Targets: []tenant.Target{{ID: "u-" + id, Type: "User"}},
		Details: []tenant.KeyValue{{Key: "id", Value: id}, {Key: "seq", Value: seq}, {Key: "c", Value: c}, {Key: "b", Value: b}}}
}

func TestReassembleSplit(t *testing.T) {
	t.Parallel()
	blob, _ := json.Marshal([]map[string]string{{"displayName": "AssignedLicense", "oldValue": "[]", "newValue": `["[SkuId=1, DisabledPlans=[p]]"]`}})
	s := string(blob)
	third := len(s) / 3
	complete := []tenant.AuditEvent{chunk("g", "2", "3", s[third:2*third]), chunk("g", "1", "3", s[:third]), chunk("g", "3", "3", s[2*third:])}
	got := reassemble(complete)
	if len(got) != 1 || got[0].Parts != 3 || got[0].First.ID != "g1" || len(got[0].Props) != 1 || got[0].Props[0].Name != "AssignedLicense" {
		t.Fatalf("reassemble = %+v", got)
	}
	if lic := parseAssignedLicenses(got[0].Props[0].New); len(lic) != 1 || lic[0].SkuID != "1" {
		t.Errorf("reassembled licence = %+v", lic)
	}
	// Through the accessor: one change, on the first chunk's user, from 3
	// parts; the chunks themselves carry no properties and give nothing.
	lcs := LicenceChanges(complete)
	if len(lcs) != 1 || lcs[0].Parts != 3 || lcs[0].Record.ID != "g1" || lcs[0].User.ID != "u-g" || lcs[0].AssignedLicense == nil || len(lcs[0].AssignedLicense.New) != 1 {
		t.Errorf("LicenceChanges = %+v", lcs)
	}
	// The fragments may carry the JSON escaped, as the content of a string.
	esc, _ := json.Marshal(s)
	inner := string(esc[1 : len(esc)-1])
	if got := reassemble([]tenant.AuditEvent{chunk("e", "1", "2", inner[:10]), chunk("e", "2", "2", inner[10:])}); len(got) != 1 {
		t.Errorf("escaped fragments: got %d groups, want 1", len(got))
	}
	// An object wrapping targetResources.
	wrapped, _ := json.Marshal(map[string]any{"targetResources": []any{map[string]any{"id": "u", "modifiedProperties": json.RawMessage(blob)}}})
	if got := reassemble([]tenant.AuditEvent{chunk("w", "0", "1", string(wrapped))}); len(got) != 1 || len(got[0].Props) != 1 {
		t.Errorf("wrapped: got %+v", got)
	}
	for name, evs := range map[string][]tenant.AuditEvent{
		"missing chunk":  complete[:2],
		"duplicate seq":  {complete[0], complete[0], complete[1]},
		"bad count":      {chunk("x", "1", "zero", s)},
		"huge count":     {chunk("x", "1", "100000", s)},
		"not json":       {chunk("x", "1", "1", "{{{")},
		"no properties":  {chunk("x", "1", "1", `{"a":1}`)},
		"no sequence id": {{Details: []tenant.KeyValue{{Key: "seq", Value: "1"}, {Key: "c", Value: "1"}, {Key: "b", Value: s}}}},
	} {
		if got := reassemble(evs); len(got) != 0 {
			t.Errorf("%s: got %+v, want nothing", name, got)
		}
	}
	// Only licence activities are reassembled: the same chunks under
	// another activity give nothing.
	other := make([]tenant.AuditEvent, len(complete))
	for i, e := range complete {
		e.Activity = "Update application"
		other[i] = e
	}
	if got := Decode(other); len(got) != 0 {
		t.Errorf("chunks of another activity: %+v", got)
	}
}
