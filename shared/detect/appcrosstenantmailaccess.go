package detect

import (
	"context"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// crossTenantMailAccess lists the service principals of apps another
// organisation owns that can read mail in this tenant.
type crossTenantMailAccess struct{}

func newCrossTenantMailAccess() Detector { return crossTenantMailAccess{} }

func (crossTenantMailAccess) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "app.cross-tenant-mail-access",
		Title: "App owned by another organisation can read mail",
		Description: "A service principal whose appOwnerOrganizationId is neither this tenant nor Microsoft's holds a mail " +
			"application permission (the sp.mail-access list) or a delegated grant with mail scopes on Microsoft Graph or " +
			"Exchange Online: a multi-tenant app registered elsewhere — the 2024 breach's OAuth app — reads this tenant's mail.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1114.002", "T1528"},
		Sources: []tenant.Source{tenant.SourceServicePrincipals, tenant.SourceResourceGrants, tenant.SourceDelegatedGrants,
			tenant.SourceOrganization},
	}
}

// delegatedMail is a delegated grant with mail scopes on a mail resource.
type delegatedMail struct {
	Grant  tenant.DelegatedGrant
	Scopes []string
}

// delegatedMailGrants returns, per client service principal id (lower
// case), its delegated grants with mail scopes on Graph or Exchange Online
// (a resource not in the snapshot counts: collection reads only grants
// with a mail scope, and the resource service principals are read).
func delegatedMailGrants(in *Input) map[string][]delegatedMail {
	out := make(map[string][]delegatedMail)
	for _, g := range in.Snapshot.DelegatedGrants {
		mail := mailScopes(strings.Fields(g.Scope))
		if len(mail) == 0 || strings.TrimSpace(g.ClientID) == "" {
			continue
		}
		if isMail, known := mailResourceOf(in, g.ResourceID, nil); known && !isMail {
			continue
		}
		id := lowerID(g.ClientID)
		out[id] = append(out[id], delegatedMail{Grant: g, Scopes: mail})
	}
	return out
}

func (d crossTenantMailAccess) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	home := lowerID(s.Organization.ID)
	if home == "" {
		return nil, Skip("the tenant's own id is unknown (organization read without an id): an owner cannot be told foreign")
	}
	held := mailRolesHeld(in, newMailCatalogue(in))
	delegated := delegatedMailGrants(in)
	var out []tenant.Finding
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		owner := lowerID(sp.AppOwnerOrganizationID)
		if owner == "" || owner == home || isMicrosoftTenant(owner) || lowerID(sp.ID) == "" {
			continue
		}
		roles := held[lowerID(sp.ID)]
		grants := delegated[lowerID(sp.ID)]
		if len(roles) == 0 && len(grants) == 0 {
			continue
		}
		o := spObject(in, sp)
		ev := map[string]any{
			"appOwnerOrganizationId": owner,
			"tenantId":               home,
		}
		o.putIdentity(ev)
		if len(roles) > 0 {
			ev["mailRoles"] = roleNames(roles)
		}
		if len(grants) > 0 {
			var scopes []string
			list := make([]map[string]any, 0, min(len(grants), maxListed))
			tenantWide := false
			for _, g := range grants {
				scopes = append(scopes, g.Scopes...)
				wide := strings.EqualFold(g.Grant.ConsentType, "AllPrincipals")
				tenantWide = tenantWide || wide
				if len(list) < maxListed {
					m := map[string]any{"grantId": g.Grant.ID, "consentType": g.Grant.ConsentType, "scopes": g.Scopes, "resourceId": g.Grant.ResourceID}
					putAny(m, "principalId", g.Grant.PrincipalID)
					list = append(list, m)
				}
			}
			slices.SortFunc(scopes, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
			ev["delegatedMailScopes"] = slices.CompactFunc(scopes, strings.EqualFold)
			ev["delegatedGrants"] = list
			ev["delegatedGrantCount"] = len(grants)
			ev["tenantWideGrant"] = tenantWide
		}
		if n := len(spCredentials(sp)); n > 0 {
			ev["credentialCount"] = n // a credential in this tenant: the owner is not the only one who can sign in as it
		}
		out = append(out, tenant.Finding{Subject: o.subject(), Evidence: ev, Key: findingKey(d.Rule().ID, sp.ID)})
	}
	return out, nil
}
