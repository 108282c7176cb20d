package audit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// advancedAuditingPlanID is M365_ADVANCED_AUDITING, the plan the licence
// rule looks for.
const advancedAuditingPlanID = "2f442157-a11c-46b9-ae5b-6e39ff4e5849"

// graphLicence is an AssignedLicense value as Graph returns it (CRLF,
// indented JSON array of licence strings).
const graphLicence = "[\r\n  \"[SkuName=ENTERPRISEPREMIUM, AccountId=4a7c2e19-5b3d-4c8e-9f60-1d2e3f4a5b6c, SkuId=c7df2760-2c81-4ef7-b578-5b5392b571df, DisabledPlans=[2f442157-a11c-46b9-ae5b-6e39ff4e5849, efb87545-963c-4e0d-99df-69c6916d9eb0]]\",\r\n  \"[SkuName=POWER_BI_STANDARD, AccountId=4a7c2e19-5b3d-4c8e-9f60-1d2e3f4a5b6c, SkuId=a403ebcc-fae0-4ca2-8c8c-7a907fd6c235, DisabledPlans=[]]\"\r\n]"

func TestParseAssignedLicenses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want []Licence
	}{
		{name: "graph layout", raw: graphLicence, want: []Licence{
			{SkuName: "ENTERPRISEPREMIUM", SkuID: "c7df2760-2c81-4ef7-b578-5b5392b571df", DisabledPlans: []string{advancedAuditingPlanID, "efb87545-963c-4e0d-99df-69c6916d9eb0"}},
			{SkuName: "POWER_BI_STANDARD", SkuID: "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235"},
		}},
		{name: "bare string, two licences, names", raw: `[SkuName=A, SkuId=1, DisabledPlans=[M365_ADVANCED_AUDITING]], [SkuName=B, SkuId=2, DisabledPlans=["x", 'y']]`, want: []Licence{
			{SkuName: "A", SkuID: "1", DisabledPlans: []string{"M365_ADVANCED_AUDITING"}},
			{SkuName: "B", SkuID: "2", DisabledPlans: []string{"x", "y"}},
		}},
		{name: "one string in a list without brackets", raw: `["SkuName=A, SkuId=1, DisabledPlans=[]"]`, want: []Licence{{SkuName: "A", SkuID: "1"}}},
		{name: "nested lists", raw: `["[[SkuId=1, DisabledPlans=[p]]]"]`, want: []Licence{{SkuID: "1", DisabledPlans: []string{"p"}}}},
		{name: "object form", raw: `[{"skuId":"1","disabledPlans":["p"]}]`, want: []Licence{{SkuID: "1", DisabledPlans: []string{"p"}}}},
		{name: "unbalanced", raw: `["[SkuId=1, DisabledPlans=[p, q"]`, want: []Licence{{SkuID: "1", DisabledPlans: []string{"p", "q"}}}},
		{name: "stray closing brackets", raw: `["]]][SkuId=1]]]"]`, want: []Licence{{SkuID: "1"}}},
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

func TestParseAssignedPlans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want []Plan
	}{
		{
			name: "names and numbers",
			raw:  `[{"ServicePlanId":"a","CapabilityStatus":"Enabled"},{"ServicePlanId":"b","CapabilityStatus":"Deleted"},{"servicePlanId":"c","capabilityStatus":0},{"ServicePlanId":"d","CapabilityStatus":3}]`,
			want: []Plan{{ID: "a", Status: "Enabled", Enabled: true}, {ID: "b", Status: "Deleted"}, {ID: "c", Status: "0", Enabled: true}, {ID: "d", Status: "3"}},
		},
		{
			name: "warning (grace period) and no status count as enabled; suspended does not",
			raw:  `[{"ServicePlanId":"a","CapabilityStatus":"Warning"},{"ServicePlanId":"b","CapabilityStatus":1},{"ServicePlanId":"c"},{"ServicePlanId":"d","CapabilityStatus":"Suspended"}]`,
			want: []Plan{{ID: "a", Status: "Warning", Enabled: true}, {ID: "b", Status: "1", Enabled: true}, {ID: "c", Enabled: true}, {ID: "d", Status: "Suspended"}},
		},
		{name: "encoded twice", raw: `"[{\"ServicePlanId\":\"a\",\"CapabilityStatus\":\"Deleted\"}]"`, want: []Plan{{ID: "a", Status: "Deleted"}}},
		{name: "entries without a plan id", raw: `[{"CapabilityStatus":"Deleted"},{"ServicePlanId":""},"a",1,null]`},
		{name: "not a list", raw: `{`},
		{name: "empty", raw: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseAssignedPlans(tt.raw)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
