package detect

import (
	"cmp"
	"context"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// mailAccess lists service principals that hold application permissions to
// read mail through Microsoft Graph or Exchange Online.
type mailAccess struct{}

func newMailAccess() Detector { return mailAccess{} }

func (mailAccess) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "sp.mail-access",
		Title: "Service principal can read all mailboxes",
		Description: "A service principal holds an application permission that reads mail in every mailbox " +
			"(Graph Mail.Read/ReadWrite/ReadBasic.All, Exchange full_access_as_app, IMAP/POP, Exchange.ManageAsApp). " +
			"High when the service principal itself carries a credential that could be used to sign in as it.",
		Severity: tenant.SeverityLow,
		MITRE:    []string{"T1114.002"},
		Sources:  []tenant.Source{tenant.SourceServicePrincipals, tenant.SourceResourceGrants},
	}
}

func (d mailAccess) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	held := mailRolesHeld(in, newMailCatalogue(in))
	var out []tenant.Finding
	for _, id := range sortedKeys(held) {
		hs := held[id]
		roles := make([]map[string]string, 0, len(hs))
		for _, h := range hs {
			r := map[string]string{"resource": h.Role.Resource(), "value": h.Role.Value, "roleId": h.Role.ID}
			putString(r, "grantedAt", ts(h.Grant.Created))
			putString(r, "assignmentId", h.Grant.ID)
			roles = append(roles, r)
		}
		subject := tenant.Subject{
			Type: tenant.SubjectServicePrincipal,
			ID:   strings.TrimSpace(hs[0].Grant.PrincipalID),
			Name: cmp.Or(hs[0].Grant.PrincipalDisplayName, hs[0].Grant.PrincipalID),
		}
		ev := map[string]any{"roles": roles, "credentialCount": 0}
		f := tenant.Finding{Subject: subject, Evidence: ev, Key: findingKey(d.Rule().ID, id)}
		if sp := in.ServicePrincipal(id); sp != nil {
			f.Subject = spObject(in, sp).subject()
			ev["credentialCount"] = len(spCredentials(sp))
			putAny(ev, "appId", sp.AppID)
			putAny(ev, "appOwnerOrganizationId", sp.AppOwnerOrganizationID)
			if len(spCredentials(sp)) > 0 {
				f.Severity = tenant.SeverityHigh
				creds := make([]map[string]string, 0, len(spCredentials(sp)))
				for _, c := range spCredentials(sp) {
					creds = append(creds, credentialRecord(c))
				}
				ev["credentials"] = creds
			}
		} else {
			ev["inInventory"] = false
		}
		out = append(out, f)
	}
	return out, nil
}
