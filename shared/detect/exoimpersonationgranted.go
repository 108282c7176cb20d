package detect

import (
	"context"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// impersonationGranted finds Exchange management roles that read every
// mailbox being assigned.
type impersonationGranted struct{}

func newImpersonationGranted() Detector { return impersonationGranted{} }

func (impersonationGranted) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "exo.impersonation-granted",
		Title: "Mailbox-reading Exchange role assigned",
		Description: "New-ManagementRoleAssignment assigned ApplicationImpersonation, or a mail-reading role of Exchange Online's RBAC for " +
			"Applications (Application Mail.Read, Mail.ReadBasic, Mail.ReadWrite, Mail Full Access, Exchange Full Access, " +
			"EWS.AccessAsApp): the assignee can read the mailboxes in the role's scope without any Entra ID permission grant.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.002", "T1098.003"},
		Sources:  []tenant.Source{tenant.SourceExchangeAudit},
	}
}

// Mail-reading Exchange roles, lower case. ApplicationImpersonation lets
// its holder act as any user over EWS (Microsoft retired it in 2025; an
// assignment is still a red flag). The "Application …" roles are those of
// RBAC for Applications that read mail content or headers; Mail.Send,
// MailboxSettings.*, Calendars.* and Contacts.* do not read mail.
var mailReadingRoles = map[string]bool{
	"applicationimpersonation":         true,
	"application mail.read":            true,
	"application mail.readbasic":       true,
	"application mail.readwrite":       true,
	"application mail full access":     true,
	"application exchange full access": true,
	"application ews.accessasapp":      true,
}

// isMailReadingRole reports whether an Exchange role name is one of them.
func isMailReadingRole(role string) bool {
	return mailReadingRoles[strings.Join(strings.Fields(strings.ToLower(role)), " ")]
}

// roleGrant is a mail-reading role assignment: the role, the assignee as
// the cmdlet names it, and its kind (App, User, SecurityGroup, Policy).
type roleGrant struct {
	Event    tenant.ExchangeAdminEvent
	Role     string
	Kind     string
	Assignee string
	Scope    string // CustomResourceScope, RecipientOrganizationalUnitScope …
}

// mailRoleGrants returns the window's successful mail-reading role
// assignments, by time.
func mailRoleGrants(in *Input) []roleGrant {
	var out []roleGrant
	for _, e := range in.cmdlets(cmdNewManagementRoleAssign) {
		role, _ := e.Param("Role")
		if !isMailReadingRole(role) {
			continue
		}
		g := roleGrant{Event: e, Role: strings.TrimSpace(role)}
		for _, kind := range []string{"App", "User", "SecurityGroup", "Policy"} {
			if v, ok := e.Param(kind); ok && strings.TrimSpace(v) != "" {
				g.Kind, g.Assignee = kind, strings.TrimSpace(v)
				break
			}
		}
		for _, p := range []string{"CustomResourceScope", "CustomRecipientWriteScope", "RecipientOrganizationalUnitScope", "RecipientRelativeWriteScope"} {
			if v, ok := e.Param(p); ok && strings.TrimSpace(v) != "" {
				g.Scope = p + "=" + strings.TrimSpace(v)
				break
			}
		}
		if g.Kind == "" {
			continue // no assignee: nothing to name
		}
		out = append(out, g)
	}
	return out
}

// grantApp resolves the -App of an assignment: Exchange's service
// principal is named by its ServiceId (the Entra object id) or the app id;
// either resolves through the data the run holds.
func grantApp(in *Input, value string) appObject {
	x := in.index()
	if a := x.apps[lowerID(value)]; a != nil && a.Type == tenant.SubjectServicePrincipal {
		return objectOf(in, a)
	}
	if a := x.spInfoByApp[lowerID(value)]; a != nil {
		return objectOf(in, a)
	}
	// Unresolved: the value is kept as an app id, never as an object id.
	return appObject{Type: tenant.SubjectServicePrincipal, AppID: lowerID(value)}
}

func (d impersonationGranted) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	seen := make(map[string]bool)
	var out []tenant.Finding
	for _, g := range mailRoleGrants(in) {
		ev := map[string]any{"role": g.Role, "assigneeKind": g.Kind, "assignee": g.Assignee}
		putAny(ev, "scope", g.Scope)
		if g.Scope == "" {
			ev["scope"] = "organization"
		}
		var subject tenant.Subject
		keyPart := ""
		switch g.Kind {
		case "App":
			o := grantApp(in, g.Assignee)
			subject = o.subject()
			o.putIdentity(ev)
			keyPart = o.ID
			if !o.resolved() {
				keyPart = "appid=" + o.AppID
			}
		case "User":
			subject = in.userTarget(g.Assignee, ev)
			keyPart = subjectKeyPart(subject)
		case "SecurityGroup":
			// Role groups and mail-enabled security groups are Exchange
			// objects the snapshot does not hold: named only.
			subject = tenant.Subject{Type: tenant.SubjectGroup, Name: g.Assignee}
			ev["objectIdResolved"] = false
			keyPart = "group=" + nameHash(g.Assignee)
		default: // Policy: every mailbox user the assignment policy applies to
			subject = tenantSubject(in)
			keyPart = "policy=" + nameHash(g.Assignee)
		}
		k := findingKey(d.Rule().ID, keyPart, strings.Join(strings.Fields(strings.ToLower(g.Role)), "-"))
		if seen[k] {
			continue
		}
		seen[k] = true
		putAdmin(ev, g.Event)
		out = append(out, tenant.Finding{Subject: subject, Evidence: ev, Key: k, ObservedAt: g.Event.Time})
	}
	return out, nil
}
