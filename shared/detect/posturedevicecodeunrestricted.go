package detect

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// deviceCodeUnrestricted reports a tenant where no enabled Conditional
// Access policy blocks the device-code flow for all users: the door of the
// device-code phishing Microsoft reported as Storm-2372 (2025).
type deviceCodeUnrestricted struct{}

func newDeviceCodeUnrestricted() Detector { return deviceCodeUnrestricted{} }

func (deviceCodeUnrestricted) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "posture.device-code-unrestricted",
		Title: "Device-code flow not blocked by Conditional Access",
		Description: "No enabled Conditional Access policy for all users and all resources blocks the device-code flow " +
			"(conditions.authenticationFlows.transferMethods deviceCodeFlow, grant control block), so a phished user " +
			"can hand an attacker tokens by typing a code. It also raises signin.device-code one step for the users no such policy applies to.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1528", "T1566.002"},
		Sources:  []tenant.Source{tenant.SourceCAPolicies},
	}
}

func (d deviceCodeUnrestricted) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	if blocked, _ := deviceCodeBlockedForAll(in); blocked {
		return nil, nil
	}
	// Near misses: policies that would block it but are not enforced, not
	// for all users, or not for all resources.
	var near []map[string]string
	for _, p := range in.Snapshot.Policies {
		if !hasTransferMethod(p, "deviceCodeFlow") || !hasFold(p.BuiltInControls, "block") {
			continue
		}
		m := map[string]string{"policy": policyName(p), "policyId": p.ID, "state": cmp.Or(strings.TrimSpace(p.State), "no state")}
		var why []string
		if !policyEnabled(p) {
			why = append(why, "not enabled")
		}
		if !hasFold(p.IncludeUsers, "All") {
			why = append(why, "not for all users")
		}
		if !allResources(p) {
			why = append(why, "not for all resources")
		}
		m["gap"] = strings.Join(why, ", ")
		var excl []string
		for _, u := range p.ExcludeUsers {
			excl = append(excl, "user "+lowerID(u))
		}
		for _, g := range p.ExcludeGroups {
			excl = append(excl, "group "+lowerID(g))
		}
		for _, r := range p.ExcludeRoles {
			excl = append(excl, "role "+lowerID(r))
		}
		putString(m, "exclusions", strings.Join(excl, ", "))
		near = append(near, m)
	}
	slices.SortFunc(near, func(a, b map[string]string) int {
		return strings.Compare(a["policy"]+a["policyId"], b["policy"]+b["policyId"])
	})
	org := in.Snapshot.Organization
	id := cmp.Or(strings.TrimSpace(org.ID), "unknown-tenant")
	ev := map[string]any{
		"policyCount":    len(in.Snapshot.Policies),
		"transferMethod": "deviceCodeFlow",
	}
	if len(near) > 0 {
		ev["policiesNotBlocking"] = near[:min(len(near), maxListed)]
	}
	return []tenant.Finding{{
		Subject:  tenant.Subject{Type: tenant.SubjectTenant, ID: id, Name: cmp.Or(org.DisplayName, id)},
		Evidence: ev,
		Key:      findingKey(d.Rule().ID, id),
	}}, nil
}
