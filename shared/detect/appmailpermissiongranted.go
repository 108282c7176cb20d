package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// mailPermissionGranted finds application permissions that read mail being
// granted to a service principal.
type mailPermissionGranted struct{}

func newMailPermissionGranted() Detector { return mailPermissionGranted{} }

func (mailPermissionGranted) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "app.mail-permission-granted",
		Title: "Mail-reading permission granted to an application",
		Description: "An application permission that reads every mailbox (Graph Mail.Read/ReadWrite/ReadBasic.All, " +
			"Exchange full_access_as_app, IMAP/POP, Exchange.ManageAsApp) was granted to a service principal.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.003", "T1114.002"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits},
	}
}

// grantedMailRole works out which mail role an app role grant grants, if
// any. The resource is the grant's service principal target; when it is not
// in the inventory, roles of either resource are accepted.
func grantedMailRole(in *Input, cat mailCatalogue, g audit.AppRoleGrant) (mailRole, bool) {
	resAppID := ""
	known := false
	if sp := in.ServicePrincipal(g.ResourceID); sp != nil && g.ResourceID != "" {
		known, resAppID = true, lowerID(sp.AppID)
		if resAppID != tenant.GraphAppID && resAppID != tenant.ExchangeOnlineAppID {
			return mailRole{}, false
		}
	}
	value, id := g.RoleValue, g.RoleID
	if id != "" {
		var r mailRole
		var ok bool
		if known {
			r, ok = cat.role(resAppID, id)
		} else {
			r, ok = cat.roleOfEither(id)
		}
		if ok {
			return r, true
		}
	}
	if r, ok := cat.byValue(resAppID, value); ok {
		return r, true
	}
	return mailRole{}, false
}

// nameHash is the first 12 hex digits of the SHA-256 of a normalised
// display name: a key part that names no one and holds no tenant text.
func nameHash(name string) string {
	sum := sha256.Sum256([]byte(nameKey(name)))
	return hex.EncodeToString(sum[:])[:12]
}

func (d mailPermissionGranted) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	cat := newMailCatalogue(in)
	seen := make(map[string]bool)
	var out []tenant.Finding
	for _, g := range audit.AppRoleGrants(in.audits()) {
		role, ok := grantedMailRole(in, cat, g)
		if !ok {
			continue
		}
		client, matchedBy, ok := clientOf(in, g.Client)
		if !ok {
			continue // the record names no client
		}
		// The key is the client's object id. When no data the run holds
		// resolves it, the key says what the record gave instead (its app
		// id, else a hash of its display name), so that it stays stable
		// and can never be taken for an object id.
		var k string
		switch {
		case client.resolved():
			k = findingKey(d.Rule().ID, client.ID, strings.ToLower(role.Value))
		case client.AppID != "":
			k = findingKey(d.Rule().ID, "appId="+client.AppID, strings.ToLower(role.Value))
		default:
			k = findingKey(d.Rule().ID, "displayName="+nameHash(client.Name), strings.ToLower(role.Value))
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		ev := map[string]any{
			"roleValue":     role.Value,
			"roleId":        role.ID,
			"resource":      role.Resource(),
			"resourceAppId": role.ResourceAppID,
		}
		putAny(ev, "resourceId", g.ResourceID)
		client.putIdentity(ev)
		if matchedBy == "displayName" && client.resolved() {
			ev["clientMatchedBy"] = "displayName" // the record gave nothing else
		}
		putEvent(ev, g.Record)
		out = append(out, tenant.Finding{Subject: client.subject(), Evidence: ev, Key: k, ObservedAt: g.Record.Time})
	}
	return out, nil
}
