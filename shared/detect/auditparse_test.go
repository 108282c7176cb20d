package detect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestNormActivity(t *testing.T) {
	t.Parallel()
	want := "update application - certificates and secrets management"
	for _, in := range []string{
		"Update application - Certificates and secrets management",
		"Update application – Certificates and secrets management", // en dash
		"Update application — Certificates and secrets management", // em dash
		"Update application ‒ Certificates and secrets management", // figure dash
		"Update application ― Certificates and secrets management", // horizontal bar
		"Update application − Certificates and secrets management", // minus sign
		"  update APPLICATION  -\tcertificates and secrets management. ",
		"Update application - Certificates and secrets management..",
	} {
		if got := normActivity(in); got != want {
			t.Errorf("normActivity(%q) = %q, want %q", in, got, want)
		}
	}
	if normActivity("Update application") == normActivity("Update application - Certificates and secrets management") {
		t.Error("distinct activities normalise to the same name")
	}
	if !activityIs(tenant.AuditEvent{Activity: "Change user license."}, actChangeUserLicense) {
		t.Error("UAL spelling with a trailing period not matched")
	}
}

func TestDecodeValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want any
	}{
		{`"Global Administrator"`, "Global Administrator"},
		{`"\"Global Administrator\""`, "Global Administrator"}, // encoded twice
		{`Global Administrator`, "Global Administrator"},       // plain text
		{`  "62e90394-69f5-4237-9190-012177145e10" `, "62e90394-69f5-4237-9190-012177145e10"},
		{``, nil},
		{`null`, nil},
		{`""`, nil},
		{`   `, nil},
		{`42`, json.Number("42")},
		{`true`, true},
		{`["a","b"]`, []any{"a", "b"}},
		{`"[\"a\"]"`, []any{"a"}}, // an array encoded twice
		{`[abc`, "[abc"},          // not JSON: kept as text
		{`{"Address":"https://x/"}`, map[string]any{"Address": "https://x/"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, decodeValue(tt.raw)); diff != "" {
			t.Errorf("decodeValue(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
	deep := "deep"
	for i := 0; i < 6; i++ {
		b, _ := json.Marshal(deep)
		deep = string(b)
		if got := decodeValue(deep); (got == "deep") != (i < maxDecodeDepth) {
			t.Errorf("decodeValue of %d levels = %q", i+1, got)
		}
	}
	if got := valueString(`["Global Administrator"]`); got != "Global Administrator" {
		t.Errorf("valueString of a one-element array = %q", got)
	}
	for _, raw := range []string{`["a","b"]`, `{"a":1}`, `[["a"]]`, `null`} {
		if got := valueString(raw); got != "" {
			t.Errorf("valueString(%q) = %q, want empty", raw, got)
		}
	}
}

func TestParseKeyDescriptions(t *testing.T) {
	t.Parallel()
	const k1, k2 = "0e3c1b5a-7d3e-4f6a-9a51-3c2b1d0e9f87", "5b8a2c1d-9e7f-4a3b-8c6d-1e2f3a4b5c6d"
	tests := []struct {
		name string
		raw  string
		want []keyDescription
	}{
		{
			name: "graph format",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo]"]`,
			want: []keyDescription{{KeyID: k1, KeyType: "AsymmetricX509Cert", KeyUsage: "Verify", DisplayName: "CN=Foo"}},
		},
		{
			name: "display name with commas, equals and brackets",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo, Inc [prod], O=A=B]"]`,
			want: []keyDescription{{KeyID: k1, KeyType: "AsymmetricX509Cert", KeyUsage: "Verify", DisplayName: "CN=Foo, Inc [prod], O=A=B"}},
		},
		{
			name: "display name that imitates fields",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=x,KeyIdentifier=` + k2 + `,DisplayName=y]"]`,
			want: []keyDescription{{KeyID: k1, KeyType: "Password", KeyUsage: "Verify", DisplayName: "x,KeyIdentifier=" + k2 + ",DisplayName=y"}},
		},
		{
			name: "two items, empty display name",
			raw:  `["[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=]","[KeyIdentifier=` + k2 + `,KeyType=AsymmetricX509Cert,KeyUsage=Sign,DisplayName=b]"]`,
			want: []keyDescription{{KeyID: k1, KeyType: "Password", KeyUsage: "Verify"}, {KeyID: k2, KeyType: "AsymmetricX509Cert", KeyUsage: "Sign", DisplayName: "b"}},
		},
		{
			name: "encoded twice",
			raw:  `"[\"[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=a]\"]"`,
			want: []keyDescription{{KeyID: k1, KeyType: "Password", KeyUsage: "Verify", DisplayName: "a"}},
		},
		{
			name: "bare string with two items",
			raw:  `[KeyIdentifier=` + k1 + `,KeyType=Password,KeyUsage=Verify,DisplayName=a], [KeyIdentifier=` + k2 + `,KeyType=Password,KeyUsage=Verify,DisplayName=b]`,
			want: []keyDescription{{KeyID: k1, KeyType: "Password", KeyUsage: "Verify", DisplayName: "a"}, {KeyID: k2, KeyType: "Password", KeyUsage: "Verify", DisplayName: "b"}},
		},
		{
			name: "object items",
			raw:  `[{"KeyIdentifier":"` + k1 + `","KeyType":"Password","DisplayName":"x"}]`,
			want: []keyDescription{{KeyID: k1, KeyType: "Password", DisplayName: "x"}},
		},
		{name: "no key identifier", raw: `["[KeyType=Password,DisplayName=x]"]`},
		{name: "display name first swallows the rest", raw: `["[DisplayName=x,KeyIdentifier=` + k1 + `]"]`},
		{name: "empty array", raw: `[]`},
		{name: "null", raw: `null`},
		{name: "empty", raw: ``},
		{name: "brackets only", raw: `[[[[]]]]`},
		{name: "numbers", raw: `[1,2,3]`},
		{name: "lone bracket", raw: `[`},
		{name: "unicode", raw: `["[KeyIdentifier=İİİ,DisplayName=İDisplayName=]"]`, want: []keyDescription{{KeyID: "İİİ", DisplayName: "İDisplayName="}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseKeyDescriptions(tt.raw)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	old := parseKeyDescriptions(`["[KeyIdentifier=` + strings.ToUpper(k1) + `,DisplayName=a]"]`)
	cur := parseKeyDescriptions(`["[KeyIdentifier=` + k1 + `,DisplayName=a]","[KeyIdentifier=` + k2 + `,DisplayName=b]","[KeyIdentifier=` + k2 + `,DisplayName=b]"]`)
	if got := newKeys(old, cur); len(got) != 1 || got[0].KeyID != k2 {
		t.Errorf("newKeys = %+v, want only %s once", got, k2)
	}
}

// graphLicence is an AssignedLicense value as Graph returns it (CRLF,
// indented JSON array of licence strings).
const graphLicence = "[\r\n  \"[SkuName=ENTERPRISEPREMIUM, AccountId=4a7c2e19-5b3d-4c8e-9f60-1d2e3f4a5b6c, SkuId=c7df2760-2c81-4ef7-b578-5b5392b571df, DisabledPlans=[2f442157-a11c-46b9-ae5b-6e39ff4e5849, efb87545-963c-4e0d-99df-69c6916d9eb0]]\",\r\n  \"[SkuName=POWER_BI_STANDARD, AccountId=4a7c2e19-5b3d-4c8e-9f60-1d2e3f4a5b6c, SkuId=a403ebcc-fae0-4ca2-8c8c-7a907fd6c235, DisabledPlans=[]]\"\r\n]"

func TestParseAssignedLicenses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want []licenceText
	}{
		{name: "graph layout", raw: graphLicence, want: []licenceText{
			{SkuName: "ENTERPRISEPREMIUM", SkuID: "c7df2760-2c81-4ef7-b578-5b5392b571df", DisabledPlans: []string{advancedAuditingPlanID, "efb87545-963c-4e0d-99df-69c6916d9eb0"}},
			{SkuName: "POWER_BI_STANDARD", SkuID: "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235"},
		}},
		{name: "bare string, two licences, names", raw: `[SkuName=A, SkuId=1, DisabledPlans=[M365_ADVANCED_AUDITING]], [SkuName=B, SkuId=2, DisabledPlans=["x", 'y']]`, want: []licenceText{
			{SkuName: "A", SkuID: "1", DisabledPlans: []string{"M365_ADVANCED_AUDITING"}},
			{SkuName: "B", SkuID: "2", DisabledPlans: []string{"x", "y"}},
		}},
		{name: "one string in a list without brackets", raw: `["SkuName=A, SkuId=1, DisabledPlans=[]"]`, want: []licenceText{{SkuName: "A", SkuID: "1"}}},
		{name: "nested lists", raw: `["[[SkuId=1, DisabledPlans=[p]]]"]`, want: []licenceText{{SkuID: "1", DisabledPlans: []string{"p"}}}},
		{name: "object form", raw: `[{"skuId":"1","disabledPlans":["p"]}]`, want: []licenceText{{SkuID: "1", DisabledPlans: []string{"p"}}}},
		{name: "unbalanced", raw: `["[SkuId=1, DisabledPlans=[p, q"]`, want: []licenceText{{SkuID: "1", DisabledPlans: []string{"p", "q"}}}},
		{name: "stray closing brackets", raw: `["]]][SkuId=1]]]"]`, want: []licenceText{{SkuID: "1"}}},
		{name: "no sku", raw: `["[AccountId=1, DisabledPlans=[p]]"]`},
		{name: "empty sku", raw: `["[SkuId=, SkuName=]"]`},
		{name: "deep nesting is bounded", raw: strings.Repeat("[", 10000) + "SkuId=1" + strings.Repeat("]", 10000)},
		{name: "empty", raw: ``},
		{name: "empty list", raw: `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseAssignedLicenses(tt.raw)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuditDisableChange(t *testing.T) {
	t.Parallel()
	lic := func(sku string, plans ...string) string {
		return "[SkuName=" + sku + ", SkuId=" + sku + "-id, DisabledPlans=[" + strings.Join(plans, ", ") + "]]"
	}
	list := func(items ...string) string {
		b, _ := json.Marshal(items)
		return string(b)
	}
	plan := func(id string, status any) map[string]any {
		return map[string]any{"ServicePlanId": id, "CapabilityStatus": status}
	}
	plans := func(ps ...map[string]any) string {
		b, _ := json.Marshal(ps)
		return string(b)
	}
	tests := []struct {
		name     string
		props    []tenant.ModifiedProperty
		wantSKUs []string
		wantVia  []string
	}{
		{"newly disabled", []tenant.ModifiedProperty{{Name: "AssignedLicense", Old: list(lic("E5")), New: list(lic("E5", advancedAuditingPlanID))}}, []string{"E5 (E5-id)"}, []string{"AssignedLicense"}},
		{"new SKU arrives disabled", []tenant.ModifiedProperty{{Name: "assignedlicense", Old: "[]", New: list(lic("E5C", "m365_advanced_auditing"))}}, []string{"E5C (E5C-id)"}, []string{"assignedlicense"}},
		{"already disabled", []tenant.ModifiedProperty{{Name: "AssignedLicense", Old: list(lic("E5", advancedAuditingPlanID)), New: list(lic("E5", advancedAuditingPlanID, "x"))}}, nil, nil},
		{"re-enabled", []tenant.ModifiedProperty{{Name: "AssignedLicense", Old: list(lic("E5", advancedAuditingPlanID)), New: list(lic("E5"))}}, nil, nil},
		{"audit platform", []tenant.ModifiedProperty{{Name: "AssignedLicense", Old: list(lic("E5")), New: list(lic("E5", "f6de4823-28fa-440b-b886-4783fa86ddba", "M365_AUDIT_PLATFORM"))}}, nil, nil},
		{"plan enabled to deleted", []tenant.ModifiedProperty{{Name: "AssignedPlan", Old: plans(plan(advancedAuditingPlanID, 0)), New: plans(plan(advancedAuditingPlanID, "Deleted"))}}, nil, []string{"AssignedPlan"}},
		{"plan enabled to suspended (string)", []tenant.ModifiedProperty{{Name: "AssignedPlan", Old: plans(plan(advancedAuditingPlanID, "Enabled")), New: plans(plan(advancedAuditingPlanID, "Suspended"))}}, nil, []string{"AssignedPlan"}},
		{"plan warning is still enabled", []tenant.ModifiedProperty{{Name: "AssignedPlan", Old: plans(plan(advancedAuditingPlanID, 0)), New: plans(plan(advancedAuditingPlanID, 1))}}, nil, nil},
		{"plan deleted on one SKU, enabled on another", []tenant.ModifiedProperty{{Name: "AssignedPlan", Old: plans(plan(advancedAuditingPlanID, 0), plan(advancedAuditingPlanID, 0)), New: plans(plan(advancedAuditingPlanID, 3), plan(advancedAuditingPlanID, 0))}}, nil, nil},
		{"plan re-enabled", []tenant.ModifiedProperty{{Name: "AssignedPlan", Old: plans(plan(advancedAuditingPlanID, 3)), New: plans(plan(advancedAuditingPlanID, 0))}}, nil, nil},
		{"plan removed with the licence", []tenant.ModifiedProperty{{Name: "AssignedPlan", Old: plans(plan(advancedAuditingPlanID, 0)), New: "[]"}}, nil, nil},
		{"garbage", []tenant.ModifiedProperty{{Name: "AssignedLicense", Old: "[", New: "]]]"}, {Name: "AssignedPlan", Old: "{", New: `[1,"a",null]`}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skus, via := auditDisableChange(tt.props)
			if diff := cmp.Diff(tt.wantSKUs, skus); diff != "" {
				t.Errorf("skus (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantVia, via); diff != "" {
				t.Errorf("via (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAddresses(t *testing.T) {
	t.Parallel()
	appAddress := `[{"AddressType":0,"Address":"https://a/","ReplyAddressClientType":1,"ReplyAddressIndex":null,"IsReplyAddressDefault":false},{"AddressType":0,"Address":" https://b/ "},{"Address":""},{"Other":"x"}]`
	tests := []struct {
		raw  string
		want []string
	}{
		{appAddress, []string{"https://a/", "https://b/"}},
		{`["https://a/","https://a/"," https://c/"]`, []string{"https://a/", "https://c/"}},
		{`"[\"https://a/\"]"`, []string{"https://a/"}},
		{`https://plain/`, []string{"https://plain/"}},
		{``, nil},
		{`null`, nil},
		{`[1, true, null, [], {}]`, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseAddresses(tt.raw)); diff != "" {
			t.Errorf("parseAddresses(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
	if diff := cmp.Diff([]string{"https://a/", "https://z/"}, addedAddresses([]string{"https://b/"}, []string{"https://z/", "https://b/", "https://a/", "https://z/"})); diff != "" {
		t.Errorf("addedAddresses (-want +got):\n%s", diff)
	}
	if got := addedAddresses([]string{"https://A/"}, []string{"https://a/"}); len(got) != 1 {
		t.Errorf("addresses compare exactly; got %v", got)
	}
}

func TestReassembleSplit(t *testing.T) {
	t.Parallel()
	blob, _ := json.Marshal([]map[string]string{{"displayName": "AssignedLicense", "oldValue": "[]", "newValue": `["[SkuId=1, DisabledPlans=[p]]"]`}})
	chunk := func(id, seq, c, b string) tenant.AuditEvent {
		return tenant.AuditEvent{ID: id + seq, Details: []tenant.KeyValue{{Key: "id", Value: id}, {Key: "seq", Value: seq}, {Key: "c", Value: c}, {Key: "b", Value: b}}}
	}
	s := string(blob)
	third := len(s) / 3
	complete := []tenant.AuditEvent{chunk("g", "2", "3", s[third:2*third]), chunk("g", "1", "3", s[:third]), chunk("g", "3", "3", s[2*third:])}
	got := reassembleSplit(complete)
	if len(got) != 1 || got[0].Parts != 3 || got[0].First.ID != "g1" || len(got[0].Props) != 1 || got[0].Props[0].Name != "AssignedLicense" {
		t.Fatalf("reassembleSplit = %+v", got)
	}
	if lic := parseAssignedLicenses(got[0].Props[0].New); len(lic) != 1 || lic[0].SkuID != "1" {
		t.Errorf("reassembled licence = %+v", lic)
	}
	// The fragments may carry the JSON escaped, as the content of a string.
	esc, _ := json.Marshal(s)
	inner := string(esc[1 : len(esc)-1])
	if got := reassembleSplit([]tenant.AuditEvent{chunk("e", "1", "2", inner[:10]), chunk("e", "2", "2", inner[10:])}); len(got) != 1 {
		t.Errorf("escaped fragments: got %d groups, want 1", len(got))
	}
	// An object wrapping targetResources.
	wrapped, _ := json.Marshal(map[string]any{"targetResources": []any{map[string]any{"id": "u", "modifiedProperties": json.RawMessage(blob)}}})
	if got := reassembleSplit([]tenant.AuditEvent{chunk("w", "0", "1", string(wrapped))}); len(got) != 1 || len(got[0].Props) != 1 {
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
		if got := reassembleSplit(evs); len(got) != 0 {
			t.Errorf("%s: got %+v, want nothing", name, got)
		}
	}
}
