package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// RoleMemberAdded is an "Add member to role" or "Add eligible member to
// role" record: a user, service principal or role-assignable group made a
// member of a directory role, actively or as eligible. The first target is
// the member; the role is described by modified properties, and a second
// target can be the role itself.
type RoleMemberAdded struct {
	Record   tenant.AuditEvent
	Eligible bool // "Add eligible member to role"
	// Member is the first target of type User, ServicePrincipal or Group
	// (its modified properties left out); the zero Target when there is
	// none. Its id may be empty.
	Member tenant.Target
	// MemberType is tenant.SubjectUser, SubjectServicePrincipal or
	// SubjectGroup from Member's type; "" when there is no member.
	MemberType tenant.SubjectType
	Role       Role
}

func (RoleMemberAdded) isEvent() {}

// Role is what a role-membership record says of the role: the new values of
// the first Role.* properties on any target ("" when absent) and the ids of
// the targets of type Role.
type Role struct {
	TemplateID          string   // Role.TemplateId (= the built-in role definition id)
	DisplayName         string   // Role.DisplayName: the display name can be reused by a custom role
	WellKnownObjectName string   // Role.WellKnownObjectName (Global Administrator's is "TenantAdmins")
	TargetIDs           []string // targets of type Role, ids trimmed
}

// RoleMembersAdded decodes the role-membership additions among records, in
// order.
func RoleMembersAdded(records []tenant.AuditEvent) []RoleMemberAdded {
	return decodeAs[RoleMemberAdded](records, familyRoleMembers)
}

// roleMemberDecoder decodes every record of the activity: whether the role
// and the member are the ones that matter is the rule's call.
func roleMemberDecoder(eligible bool) func(tenant.AuditEvent) []Event {
	return func(e tenant.AuditEvent) []Event {
		r := RoleMemberAdded{
			Record:   e,
			Eligible: eligible,
			Role: Role{
				TemplateID:          newString(e, "Role.TemplateId"),
				DisplayName:         newString(e, "Role.DisplayName"),
				WellKnownObjectName: newString(e, "Role.WellKnownObjectName"),
			},
		}
		for _, t := range e.Targets {
			if typeIs(t, "Role") {
				r.Role.TargetIDs = append(r.Role.TargetIDs, strings.TrimSpace(t.ID))
			}
		}
		if m, ok := firstTarget(e, "User", "ServicePrincipal", "Group"); ok {
			m.Modified = nil
			r.Member = m
			switch {
			case typeIs(m, "Group"):
				r.MemberType = tenant.SubjectGroup
			case typeIs(m, "ServicePrincipal"):
				r.MemberType = tenant.SubjectServicePrincipal
			default:
				r.MemberType = tenant.SubjectUser
			}
		}
		return []Event{r}
	}
}
