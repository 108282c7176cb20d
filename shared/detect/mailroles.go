package detect

import (
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Microsoft's first-party owner tenants (appOwnerOrganizationId).
const (
	microsoftServicesTenant  = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	microsoftCorporateTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// isMicrosoftTenant reports whether id is one of Microsoft's owner tenants.
func isMicrosoftTenant(id string) bool {
	id = strings.TrimSpace(id)
	return strings.EqualFold(id, microsoftServicesTenant) || strings.EqualFold(id, microsoftCorporateTenant)
}

// resourceName returns the display name of a mail resource app id.
func resourceName(appID string) string {
	switch strings.ToLower(appID) {
	case tenant.GraphAppID:
		return "Microsoft Graph"
	case tenant.ExchangeOnlineAppID:
		return "Office 365 Exchange Online"
	}
	return ""
}

// mailRole is one application permission that reads mailboxes.
type mailRole struct {
	ResourceAppID string // lower case
	ID            string // lower case
	Value         string
}

// Resource returns the resource's display name.
func (r mailRole) Resource() string { return resourceName(r.ResourceAppID) }

// knownMailRoles is the catalogue with the role ids Microsoft publishes
// (graph.md §6), used when the tenant's resource service principal or its
// appRoles are missing. Mail.Send, MailboxItem.Read.All and Mail.ReadBasic
// are not mail-read roles for these rules. Exchange Online also exposes the
// legacy Mail.* roles under Graph's GUIDs; roles are keyed by (resource,
// id) so those are not confused with Graph's.
func knownMailRoles() []mailRole {
	return []mailRole{
		{ResourceAppID: tenant.GraphAppID, ID: "810c84a8-4a9e-49e6-bf7d-12d183f40d01", Value: "Mail.Read"},
		{ResourceAppID: tenant.GraphAppID, ID: "e2a3a72e-5f79-4c64-b1b1-878b674786c9", Value: "Mail.ReadWrite"},
		{ResourceAppID: tenant.GraphAppID, ID: "693c5e45-0940-467d-9b8a-1022fb9d42ef", Value: "Mail.ReadBasic.All"},
		{ResourceAppID: tenant.ExchangeOnlineAppID, ID: "dc890d15-9560-4a4c-9b7f-a736ec74ec40", Value: "full_access_as_app"},
		{ResourceAppID: tenant.ExchangeOnlineAppID, ID: "5e5addcd-3e8d-4e90-baf5-964efab2b20a", Value: "IMAP.AccessAsApp"},
		{ResourceAppID: tenant.ExchangeOnlineAppID, ID: "cb842b43-da6e-4506-86fe-bb12199c656d", Value: "POP.AccessAsApp"},
		{ResourceAppID: tenant.ExchangeOnlineAppID, ID: "dc50a0fb-09a3-484d-be87-e023b12c6440", Value: "Exchange.ManageAsApp"},
	}
}

type roleKey struct{ resourceAppID, roleID string }

// mailCatalogue maps (resource app id, role id) to mail roles, resolved
// against the tenant's resource service principals.
type mailCatalogue struct {
	byKey map[roleKey]mailRole
}

// newMailCatalogue resolves each catalogue role by value against the
// appRoles of the resource service principal in the snapshot. A role whose
// value the resource does not list (or whose resource, or its appRoles, is
// missing) keeps the published id.
func newMailCatalogue(in *Input) mailCatalogue {
	c := mailCatalogue{byKey: make(map[roleKey]mailRole)}
	for _, r := range knownMailRoles() {
		resolved := false
		if sp := in.ServicePrincipalByAppID(r.ResourceAppID); sp != nil {
			for _, ar := range sp.AppRoles {
				if strings.EqualFold(strings.TrimSpace(ar.Value), r.Value) && strings.TrimSpace(ar.ID) != "" {
					id := strings.ToLower(strings.TrimSpace(ar.ID))
					c.byKey[roleKey{r.ResourceAppID, id}] = mailRole{ResourceAppID: r.ResourceAppID, ID: id, Value: r.Value}
					resolved = true
				}
			}
		}
		if !resolved {
			c.byKey[roleKey{r.ResourceAppID, r.ID}] = r
		}
	}
	return c
}

// role returns the mail role with id on the resource with app id
// resourceAppID.
func (c mailCatalogue) role(resourceAppID, roleID string) (mailRole, bool) {
	r, ok := c.byKey[roleKey{strings.ToLower(strings.TrimSpace(resourceAppID)), strings.ToLower(strings.TrimSpace(roleID))}]
	return r, ok
}

// roleOfEither returns the mail role with id on Graph or, failing that, on
// Exchange Online: for records whose resource is unknown.
func (c mailCatalogue) roleOfEither(roleID string) (mailRole, bool) {
	if r, ok := c.role(tenant.GraphAppID, roleID); ok {
		return r, true
	}
	return c.role(tenant.ExchangeOnlineAppID, roleID)
}

// byValue returns the mail role called value on the resource, or on either
// resource when resourceAppID is "".
func (c mailCatalogue) byValue(resourceAppID, value string) (mailRole, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return mailRole{}, false
	}
	for _, r := range knownMailRoles() {
		if (resourceAppID == "" || strings.EqualFold(resourceAppID, r.ResourceAppID)) && strings.EqualFold(value, r.Value) {
			return r, true
		}
	}
	return mailRole{}, false
}

// grantResourceAppID returns the app id of a grant's resource when it is
// Graph or Exchange Online: from the inventory, else (resource not in the
// snapshot) from the resource display name, which the collector took from
// the resource it queried.
func grantResourceAppID(in *Input, g tenant.AppRoleAssignment) string {
	if sp := in.ServicePrincipal(g.ResourceID); sp != nil {
		switch a := strings.ToLower(sp.AppID); a {
		case tenant.GraphAppID, tenant.ExchangeOnlineAppID:
			return a
		}
		return ""
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(g.ResourceDisplayName), "Microsoft Graph"):
		return tenant.GraphAppID
	case strings.EqualFold(strings.TrimSpace(g.ResourceDisplayName), "Office 365 Exchange Online"):
		return tenant.ExchangeOnlineAppID
	}
	return ""
}

// heldMailRole is a mail role granted to a service principal.
type heldMailRole struct {
	Role  mailRole
	Grant tenant.AppRoleAssignment
}

// mailRolesHeld returns, per principal service principal id (lower case),
// the mail roles granted to it on Graph and Exchange Online, in a stable
// order.
func mailRolesHeld(in *Input, cat mailCatalogue) map[string][]heldMailRole {
	out := make(map[string][]heldMailRole)
	for _, g := range in.Snapshot.ResourceGrants {
		if !strings.EqualFold(strings.TrimSpace(g.PrincipalType), "ServicePrincipal") || g.PrincipalID == "" {
			continue
		}
		res := grantResourceAppID(in, g)
		if res == "" {
			continue
		}
		r, ok := cat.role(res, g.AppRoleID)
		if !ok {
			continue
		}
		id := strings.ToLower(strings.TrimSpace(g.PrincipalID))
		out[id] = append(out[id], heldMailRole{Role: r, Grant: g})
	}
	for id, hs := range out {
		slices.SortStableFunc(hs, func(a, b heldMailRole) int {
			return strings.Compare(a.Role.Resource()+"\x00"+a.Role.Value, b.Role.Resource()+"\x00"+b.Role.Value)
		})
		out[id] = slices.CompactFunc(hs, func(a, b heldMailRole) bool { return a.Role == b.Role })
	}
	return out
}

// roleNames returns "Resource: Value" for each held role.
func roleNames(hs []heldMailRole) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.Role.Resource()+": "+h.Role.Value)
	}
	return out
}
