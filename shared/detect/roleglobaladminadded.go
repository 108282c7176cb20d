package detect

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Global Administrator: role template id (= built-in role definition id),
// display name, and the well-known object name its audit records carry.
const (
	globalAdminTemplateID = "62e90394-69f5-4237-9190-012177145e10"
	globalAdminName       = "Global Administrator"
	globalAdminWellKnown  = "TenantAdmins"
	globalAdminLegacyName = "Company Administrator"
)

// globalAdminAdded finds users and service principals made Global
// Administrator, actively or as eligible.
type globalAdminAdded struct{}

func newGlobalAdminAdded() Detector { return globalAdminAdded{} }

func (globalAdminAdded) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "role.global-admin-added",
		Title: "Member added to Global Administrator",
		Description: "A user or service principal was added to the Global Administrator role, as an active or an eligible member. " +
			"Global Administrators control the whole tenant, including licences, audit settings and every app's credentials.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.003"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits},
	}
}

// globalAdminRole reports whether a record's role is Global Administrator,
// and how it knows: Role.TemplateId, Role.DisplayName (exact, after
// trimming), Role.WellKnownObjectName, or a target of type Role whose id is
// the template id.
func globalAdminRole(r audit.Role) (string, bool) {
	if strings.EqualFold(r.TemplateID, globalAdminTemplateID) {
		return "Role.TemplateId", true
	}
	// "Company Administrator" is the role's older name, still seen in the
	// log and in PowerShell modules.
	if strings.EqualFold(r.DisplayName, globalAdminName) || strings.EqualFold(r.DisplayName, globalAdminLegacyName) {
		return "Role.DisplayName", true
	}
	if strings.EqualFold(r.WellKnownObjectName, globalAdminWellKnown) {
		return "Role.WellKnownObjectName", true
	}
	if slices.ContainsFunc(r.TargetIDs, func(id string) bool { return strings.EqualFold(id, globalAdminTemplateID) }) {
		return "role target id", true
	}
	return "", false
}

func (d globalAdminAdded) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	var out []tenant.Finding
	seen := make(map[string]bool)
	for _, r := range audit.RoleMembersAdded(in.audits()) {
		how, ok := globalAdminRole(r.Role)
		if !ok {
			continue
		}
		// The member is a user, a service principal or a role-assignable
		// group (whose members all gain the role).
		m, e := r.Member, r.Record
		if strings.TrimSpace(m.ID) == "" {
			continue
		}
		subject := tenant.Subject{Type: tenant.SubjectUser, ID: strings.TrimSpace(m.ID), Name: cmp.Or(m.UPN, m.DisplayName, m.ID)}
		switch r.MemberType {
		case tenant.SubjectGroup:
			subject.Type = tenant.SubjectGroup
		case tenant.SubjectServicePrincipal:
			subject.Type = tenant.SubjectServicePrincipal
			// The target carries the member's object id; its name comes
			// from the record, else from what the run knows of it.
			if a := in.index().apps[lowerID(m.ID)]; a != nil {
				subject.Name = cmp.Or(m.DisplayName, a.Name, m.ID)
			}
		default:
			if u := in.User(m.ID); u != nil {
				subject = userSubject(u)
			}
		}
		disc := cmp.Or(strings.TrimSpace(e.ID), strings.TrimSpace(e.CorrelationID), e.Time.UTC().Format("20060102T150405.000000000Z"))
		k := findingKey(d.Rule().ID, subject.ID, disc)
		if seen[k] {
			continue
		}
		seen[k] = true
		ev := map[string]any{
			"role":           globalAdminName,
			"roleTemplateId": globalAdminTemplateID,
			"matchedBy":      how,
			"eligible":       r.Eligible,
		}
		putAny(ev, "role", r.Role.DisplayName)
		putAny(ev, "memberUserPrincipalName", m.UPN)
		putEvent(ev, e)
		out = append(out, tenant.Finding{Subject: subject, Evidence: ev, Key: k, ObservedAt: e.Time})
	}
	return out, nil
}
