package detect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

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
			// Decoded as shared/audit decodes an "Update user" record.
			cs := audit.LicenceChanges([]tenant.AuditEvent{{Activity: "Update user", Targets: []tenant.Target{{ID: "u", Type: "User", Modified: tt.props}}}})
			if len(cs) != 1 {
				t.Fatalf("%d licence changes decoded, want 1", len(cs))
			}
			skus, via := auditDisableChange(cs[0])
			if diff := cmp.Diff(tt.wantSKUs, skus); diff != "" {
				t.Errorf("skus (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantVia, via); diff != "" {
				t.Errorf("via (-want +got):\n%s", diff)
			}
		})
	}
}
