package detect

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// What the consent and app rules of issue 12 share: which delegated scopes
// reach mail, and whether the tenant lets users consent to apps.

// mailScopes returns the scopes of ss that reach mail (tenant.IsMailScope), in
// order, without repeats (case-insensitive).
func mailScopes(ss []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if tenant.IsMailScope(s) && !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	return out
}

// Permission grant policies a tenant assigns to users
// (authorizationPolicy.defaultUserRolePermissions.permissionGrantPoliciesAssigned).
// An entry "ManagePermissionGrantsForSelf.<policy id>" lets users consent
// to apps for themselves under that policy; "ManagePermissionGrantsForOwnedResource.*"
// entries are resource-specific consent by team and chat owners, not user
// consent to apps. The built-in policies (Microsoft Entra PowerShell's
// Get-EntraPolicy reference and Microsoft's consent documentation):
//
//   - microsoft-user-default-legacy: users may consent to any app for
//     every permission that does not need admin consent — mail scopes
//     included ("Allow user consent for apps").
//   - microsoft-user-default-low: users may consent to apps from verified
//     publishers for the permissions the admin classified low impact.
//   - microsoft-user-default-recommended: "Let Microsoft manage your consent
//     settings": the permissions Microsoft currently recommends.
//
// The last two are low-risk only: users can still consent, but not to the
// mail scopes unless an admin classified them low impact (which the rules
// cannot see: permission classifications are not read). Any other id is a
// custom policy, judged like legacy: the rules cannot read its conditions.
const selfConsentPrefix = "managepermissiongrantsforself."

var lowRiskConsentPolicies = map[string]bool{
	"microsoft-user-default-low":         true,
	"microsoft-user-default-recommended": true,
}

// consentPosture is what the authorization policy says of user consent.
type consentPosture struct {
	Read bool // the policy was read (Snapshot.AuthorizationPolicy != nil)
	// Self are the policy ids of every ManagePermissionGrantsForSelf
	// entry, as assigned; Broad are those that are not low-risk only.
	Self, Broad []string
	CreateApps  bool // defaultUserRolePermissions.allowedToCreateApps
}

func consentPostureOf(p *tenant.AuthorizationPolicy) consentPosture {
	if p == nil {
		return consentPosture{}
	}
	c := consentPosture{Read: true, CreateApps: p.AllowedToCreateApps}
	for _, e := range p.PermissionGrantPoliciesAssigned {
		e = strings.TrimSpace(e)
		if len(e) <= len(selfConsentPrefix) || !strings.EqualFold(e[:len(selfConsentPrefix)], selfConsentPrefix) {
			continue
		}
		id := e[len(selfConsentPrefix):]
		c.Self = append(c.Self, id)
		if !lowRiskConsentPolicies[strings.ToLower(id)] {
			c.Broad = append(c.Broad, id)
		}
	}
	return c
}

// usersMayConsent is the one predicate both posture.user-consent-allowed
// (medium) and app.consent-mail-scopes (one step higher) use: users may
// consent to apps under a policy that is not low-risk only (legacy or
// custom), so a user can hand an app their mail.
func (c consentPosture) usersMayConsent() bool { return len(c.Broad) > 0 }
