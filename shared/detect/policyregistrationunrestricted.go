package detect

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// caRegisterSecurityInfo is the Conditional Access user action for
// registering security info.
const caRegisterSecurityInfo = "urn:user:registersecurityinfo"

// registrationUnrestricted reports a tenant where no enforced Conditional
// Access policy governs security-info registration.
type registrationUnrestricted struct{}

func newRegistrationUnrestricted() Detector { return registrationUnrestricted{} }

func (registrationUnrestricted) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "policy.registration-unrestricted",
		Title: "MFA registration not restricted by Conditional Access",
		Description: "No enabled Conditional Access policy targets the \"Register security information\" user action, " +
			"so MFA can be registered from anywhere by whoever knows a password.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1098.005"},
		Sources:  []tenant.Source{tenant.SourceCAPolicies},
	}
}

func (d registrationUnrestricted) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	enabled := 0
	var reportOnly, disabled []string
	for _, p := range in.Snapshot.Policies {
		state := strings.TrimSpace(p.State)
		on := strings.EqualFold(state, "enabled")
		if on {
			enabled++
		}
		covers := slices.ContainsFunc(p.IncludeUserActions, func(a string) bool {
			return strings.EqualFold(strings.TrimSpace(a), caRegisterSecurityInfo)
		})
		if !covers {
			continue
		}
		name := cmp.Or(p.DisplayName, p.ID)
		switch {
		case on:
			return nil, nil // registration is governed
		case strings.EqualFold(state, "enabledForReportingButNotEnforced"):
			reportOnly = append(reportOnly, name)
		default:
			disabled = append(disabled, name+" ("+cmp.Or(state, "no state")+")")
		}
	}
	org := in.Snapshot.Organization
	id := cmp.Or(strings.TrimSpace(org.ID), "unknown-tenant")
	ev := map[string]any{
		"policyCount":        len(in.Snapshot.Policies),
		"enabledPolicyCount": enabled,
		"userAction":         caRegisterSecurityInfo,
	}
	if len(reportOnly) > 0 {
		slices.Sort(reportOnly)
		ev["reportOnlyPolicies"] = reportOnly
	}
	if len(disabled) > 0 {
		slices.Sort(disabled)
		ev["disabledPolicies"] = disabled
	}
	return []tenant.Finding{{
		Subject:  tenant.Subject{Type: tenant.SubjectTenant, ID: id, Name: cmp.Or(org.DisplayName, id)},
		Evidence: ev,
		Key:      findingKey(d.Rule().ID, id),
	}}, nil
}
