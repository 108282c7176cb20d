package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// AppRoleGrant is an "Add app role assignment to service principal"
// record: an application permission granted to a client service
// principal. The record's target is the resource (Microsoft Graph, Exchange
// Online), not the client; the client is only in modified properties, and
// records differ in which they carry (ServicePrincipal.ObjectID in some,
// only ServicePrincipal.DisplayName and ServicePrincipal.AppId in others).
type AppRoleGrant struct {
	Record tenant.AuditEvent
	// ResourceID is the object id of the first target of type
	// ServicePrincipal, trimmed; "" when there is none.
	ResourceID string
	RoleID     string // AppRole.Id
	RoleValue  string // AppRole.Value, e.g. "Mail.Read"
	Client     GrantClient
}

func (AppRoleGrant) isEvent() {}

// GrantClient is the service principal a grant names as receiving the
// role, as the record gives it: any field may be empty, all three may be.
type GrantClient struct {
	ObjectID    string // ServicePrincipal.ObjectID
	AppID       string // ServicePrincipal.AppId
	DisplayName string // ServicePrincipal.DisplayName: attacker-chosen
}

// AppRoleGrants decodes the app role grants among records, in order.
func AppRoleGrants(records []tenant.AuditEvent) []AppRoleGrant {
	return decodeAs[AppRoleGrant](records, familyAppRoleGrants)
}

// decodeAppRoleGrant decodes every record of the activity: which of its
// fields matter is the rule's call. Values are the new values of the first
// property of each name on any target.
func decodeAppRoleGrant(e tenant.AuditEvent) []Event {
	g := AppRoleGrant{
		Record:    e,
		RoleID:    newString(e, "AppRole.Id"),
		RoleValue: newString(e, "AppRole.Value"),
		Client: GrantClient{
			ObjectID:    newString(e, "ServicePrincipal.ObjectID"),
			AppID:       newString(e, "ServicePrincipal.AppId"),
			DisplayName: newString(e, "ServicePrincipal.DisplayName"),
		},
	}
	if t, ok := firstTarget(e, "ServicePrincipal"); ok {
		g.ResourceID = strings.TrimSpace(t.ID)
	}
	return []Event{g}
}
