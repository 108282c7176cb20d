package detect

import (
	"cmp"
	"context"
	"strings"

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

// grantedMailRole works out which mail role an app-role-assignment event
// grants, if any. The resource is the event's service principal target;
// when it is not in the inventory, roles of either resource are accepted.
func grantedMailRole(in *Input, cat mailCatalogue, e tenant.AuditEvent) (mailRole, tenant.Target, bool) {
	res, _ := firstTarget(e, "ServicePrincipal")
	resAppID := ""
	known := false
	if sp := in.ServicePrincipal(res.ID); sp != nil && strings.TrimSpace(res.ID) != "" {
		known, resAppID = true, lowerID(sp.AppID)
		if resAppID != graphAppID && resAppID != exoAppID {
			return mailRole{}, res, false
		}
	}
	value, id := "", ""
	if p, ok := eventProp(e, "AppRole.Value"); ok {
		value = valueString(p.New)
	}
	if p, ok := eventProp(e, "AppRole.Id"); ok {
		id = valueString(p.New)
	}
	if id != "" {
		var r mailRole
		var ok bool
		if known {
			r, ok = cat.role(resAppID, id)
		} else {
			r, ok = cat.roleOfEither(id)
		}
		if ok {
			return r, res, true
		}
	}
	if r, ok := cat.byValue(resAppID, value); ok {
		return r, res, true
	}
	return mailRole{}, res, false
}

func (d mailPermissionGranted) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	cat := newMailCatalogue(in)
	seen := make(map[string]bool)
	var out []tenant.Finding
	for _, e := range auditEvents(in, actAddAppRoleAssignment) {
		role, res, ok := grantedMailRole(in, cat, e)
		if !ok {
			continue
		}
		var clientObjID, clientAppID, clientName string
		if p, ok := eventProp(e, "ServicePrincipal.ObjectID"); ok {
			clientObjID = valueString(p.New)
		}
		if p, ok := eventProp(e, "ServicePrincipal.AppId"); ok {
			clientAppID = valueString(p.New)
		}
		if p, ok := eventProp(e, "ServicePrincipal.DisplayName"); ok {
			clientName = valueString(p.New)
		}
		subject := tenant.Subject{Type: tenant.SubjectServicePrincipal}
		switch sp := in.ServicePrincipalByAppID(clientAppID); {
		case clientObjID != "":
			subject.ID = clientObjID
			if sp := in.ServicePrincipal(clientObjID); sp != nil {
				subject.Name, clientAppID = sp.DisplayName, cmp.Or(clientAppID, sp.AppID)
			}
		case clientAppID != "" && sp != nil:
			subject.ID, subject.Name = sp.ID, sp.DisplayName
		case clientAppID != "":
			subject.ID = clientAppID
		default:
			continue
		}
		subject.Name = cmp.Or(subject.Name, clientName, subject.ID)
		k := findingKey(d.Rule().ID, subject.ID, strings.ToLower(role.Value))
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
		putAny(ev, "resourceId", strings.TrimSpace(res.ID))
		putAny(ev, "clientAppId", clientAppID)
		if clientObjID == "" && subject.ID == clientAppID {
			ev["clientResolved"] = false
		}
		putEvent(ev, e)
		out = append(out, tenant.Finding{Subject: subject, Evidence: ev, Key: k, ObservedAt: e.Time})
	}
	return out, nil
}
