package graphsim

import (
	"net/http"
	"strings"
)

// Application permissions (app roles of Microsoft Graph) as Graph checks
// them, from Microsoft's permission tables
// (microsoft-graph-docs-contrib api-reference/v1.0/includes/permissions/
// <api>-permissions.md): each inner list is a choice — the least
// privileged permission and the higher ones that also allow the call —
// and every list must be met. List directoryAudits needs AuditLog.Read.All
// and Directory.Read.All together. List signIns lists Directory.Read.All
// as a higher privileged permission, but Graph refuses it alone with
// Authentication_MSGraphPermissionMissing naming AuditLog.Read.All
// (microsoftgraph/microsoft-graph-docs-contrib#3196), so only
// AuditLog.Read.All allows it here.
var (
	readOrganization = []string{"Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"}
	readUsers        = []string{"User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
	readGroups       = []string{"Group.Read.All", "GroupMember.Read.All", "Directory.Read.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}
	readApplications = []string{"Application.Read.All", "Directory.Read.All", "Application.ReadWrite.All", "Directory.ReadWrite.All"}
	readAuditLog     = []string{"AuditLog.Read.All"}
	// List namedLocations and Get conditionalAccessPolicy: Policy.Read.All,
	// higher privileged "Not available".
	readPolicies = []string{"Policy.Read.All"}
)

// required returns what a read of source needs; nil: nothing checked.
func required(source string) [][]string {
	switch source {
	case SourceOrganization, SourceSubscribedSkus:
		return [][]string{readOrganization}
	case SourceUsers:
		return [][]string{readUsers}
	case SourceSignInActivity:
		return [][]string{readUsers, readAuditLog}
	case SourceGroups:
		return [][]string{readGroups}
	case SourceUserRegistrationDetails:
		return [][]string{{"AuditLog.Read.All", "UserAuthenticationMethod.Read.All"}}
	case SourceServicePrincipals, SourceApplications, SourceAppRoleAssignedTo:
		return [][]string{readApplications}
	case SourceDirectoryAudits:
		return [][]string{readAuditLog, {"Directory.Read.All"}}
	case SourceSignIns, SourceSignInsBeta:
		return [][]string{readAuditLog}
	case SourceDevices:
		return [][]string{readDevices}
	case SourceDomains:
		return [][]string{readDomains}
	case SourceDomainFederation:
		return [][]string{readDomainFederation}
	case SourceAuthorizationPolicy:
		return [][]string{readAuthorizationPolicy}
	case SourceDelegatedGrants:
		return [][]string{readDelegatedGrants}
	case SourceGroupMembers:
		return [][]string{readGroupMembers}
	case SourceFederatedCredentials:
		return [][]string{readFederatedCredentials}
	case SourceConditionalAccess:
		return [][]string{readPolicies}
	}
	return nil
}

// subscriptionNeeds is what a subscription on resource needs (that of
// reading it); listing, renewing or deleting needs either.
func subscriptionNeeds(resource string) [][]string {
	r := strings.ToLower(strings.Trim(resource, "/"))
	switch {
	case r == "users" || strings.HasPrefix(r, "users/"):
		return required(SourceUsers)
	case r == "groups" || strings.HasPrefix(r, "groups/"):
		return required(SourceGroups)
	}
	return [][]string{append(append([]string{}, readUsers...), readGroups...)}
}

// missing returns the first unmet choice's least privileged permission, or
// "" when the granted set allows the call (always, with Permissions nil).
func (s *Server) missing(need [][]string) string {
	if s.granted == nil {
		return ""
	}
	for _, choice := range need {
		ok := false
		for _, p := range choice {
			if s.granted[strings.ToLower(p)] {
				ok = true
				break
			}
		}
		if !ok {
			return choice[0]
		}
	}
	return ""
}

// permissionDenied is Graph's 403 for a missing permission on source.
func permissionDenied(source, permission string) (int, string, string) {
	switch source {
	case SourceDirectoryAudits, SourceSignIns, SourceSignInsBeta, SourceUserRegistrationDetails:
		return http.StatusForbidden, "Authentication_MSGraphPermissionMissing",
			"Calling principal does not have required MSGraph permissions " + permission
	case SourceConditionalAccess:
		return http.StatusForbidden, "AccessDenied",
			"You cannot perform the requested operation, required scopes are missing in the token."
	}
	return http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
}

// premiumDenied is Graph's 403 for data that needs Entra ID P1 or P2.
func premiumDenied() (int, string, string) {
	return http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
		"Neither tenant is B2C or tenant doesn't have premium license"
}

// needsPremium reports whether source is data an Entra ID Free tenant
// does not get (sign-in logs, signInActivity, registration details,
// Conditional Access).
func needsPremium(source string) bool {
	switch source {
	case SourceSignIns, SourceSignInsBeta, SourceSignInActivity, SourceUserRegistrationDetails, SourceConditionalAccess:
		return true
	}
	return false
}

// premiumPlans are the service plans of Entra ID P1 and P2.
var premiumPlans = map[string]bool{
	"41781fb2-bc02-4b7c-bd55-b576c07bb09d": true, // AAD_PREMIUM
	"eec0eb4f-6444-4f95-aba0-50c24d67f998": true, // AAD_PREMIUM_P2
}

// stripPremium makes the tenant's licences those of a tenant without
// Entra ID P1 or P2: SKUs sold as Entra ID P1/P2 go, and the other SKUs
// lose those plans (as Office 365 suites have none).
func stripPremium(st *store) {
	c := st.colls["subscribedSkus"]
	if c == nil || len(c.sources) != 1 {
		return
	}
	src, ok := c.sources[0].(staticSource)
	if !ok {
		return
	}
	var kept staticSource
	for _, r := range src {
		plans, _ := r.o.Get("servicePlans")
		arr, _ := plans.([]any)
		var rest []any
		only := len(arr) > 0
		for _, p := range arr {
			if po, ok := p.(Object); ok && premiumPlans[strings.ToLower(po.Str("servicePlanId"))] {
				continue
			}
			if po, ok := p.(Object); ok && !strings.HasPrefix(po.Str("servicePlanName"), "AAD_") {
				only = false
			}
			rest = append(rest, p)
		}
		if only || strings.HasPrefix(r.o.Str("skuPartNumber"), "AAD_PREMIUM") {
			continue
		}
		o := append(Object{}, r.o...)
		if rest == nil {
			rest = []any{}
		}
		o.Set("servicePlans", rest)
		kept = append(kept, record{o: o, t: r.t})
	}
	st.colls["subscribedSkus"] = &collection{sources: []source{kept}}
}
