package detect

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/exoaudit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Lookups the Exchange rules share: the admin cmdlets and mail access
// records of the window (Snapshot.ExchangeAdmin, .MailAccess, decoded by
// shared/exoaudit), and the directory objects they name (Exchange names a
// mailbox by whatever the admin typed: a UPN, an alias, a name).

// Exchange cmdlets and parameters the rules read, as Exchange spells them
// (compared case-insensitively).
const (
	cmdSetMailbox              = "Set-Mailbox"
	cmdSetMailboxAuditBypass   = "Set-MailboxAuditBypassAssociation"
	cmdSetOrganizationConfig   = "Set-OrganizationConfig"
	cmdSetAdminAuditLogConfig  = "Set-AdminAuditLogConfig"
	cmdNewManagementRoleAssign = "New-ManagementRoleAssignment"
	actionMailItemsAccessed    = "MailItemsAccessed"
)

// exchangeAdmin returns the successful admin cmdlets of the window, ordered
// by time (ties keep their input order: the API serves blobs out of order).
func (in *Input) exchangeAdmin() []tenant.ExchangeAdminEvent {
	var out []tenant.ExchangeAdminEvent
	for _, e := range in.Snapshot.ExchangeAdmin {
		if e.Succeeded && inWindow(in, e.Time) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b tenant.ExchangeAdminEvent) int { return a.Time.Compare(b.Time) })
	return out
}

// cmdlets returns the window's successful runs of cmdlet.
func (in *Input) cmdlets(cmdlet string) []tenant.ExchangeAdminEvent {
	var out []tenant.ExchangeAdminEvent
	for _, e := range in.exchangeAdmin() {
		if strings.EqualFold(strings.TrimSpace(e.Cmdlet), cmdlet) {
			out = append(out, e)
		}
	}
	return out
}

// mailAccess returns the MailItemsAccessed records of the window, by time.
func (in *Input) mailAccess() []tenant.MailAccess {
	var out []tenant.MailAccess
	for _, m := range in.Snapshot.MailAccess {
		if inWindow(in, m.Time) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b tenant.MailAccess) int { return a.Time.Compare(b.Time) })
	return out
}

// appRead reports whether an application read the mail of m. The record
// says so (tenant.MailAccess.ByApp), or it names as the reading app one of
// the tenant's own or a third party's service principals: records that
// name the mailbox owner as the actor with an owner logon are the owner's
// own session only when the app is Microsoft's (Outlook, Outlook on the
// web, Exchange) or unknown to the directory. Which actor Exchange records
// for an app-only read is not documented; a foreign reading app decides.
func (in *Input) appRead(m tenant.MailAccess) bool {
	if m.ByApp() {
		return true
	}
	id := m.ReaderAppID()
	if id == "" {
		return false
	}
	sp := in.ServicePrincipalByAppID(id)
	return sp != nil && !isMicrosoftTenant(sp.AppOwnerOrganizationID)
}

// boolParam reads a boolean cmdlet parameter; ok is false when the cmdlet
// was not given it or its value is no boolean.
func boolParam(e tenant.ExchangeAdminEvent, name string) (value, ok bool) {
	v, given := e.Param(name)
	if !given {
		return false, false
	}
	return exoaudit.ParseBool(v)
}

// adminRecord describes one admin cmdlet for evidence.
func adminRecord(e tenant.ExchangeAdminEvent) map[string]string {
	m := map[string]string{"time": ts(e.Time), "cmdlet": e.Cmdlet, "recordId": e.ID}
	putString(m, "actor", e.Actor)
	putString(m, "actorAppId", e.ActorAppID)
	putString(m, "actorIp", e.ClientIP)
	putString(m, "objectId", e.ObjectID)
	if e.External {
		m["externalAccess"] = "true"
	}
	return m
}

// putAdmin sets the fields of one admin cmdlet on evidence.
func putAdmin(ev map[string]any, e tenant.ExchangeAdminEvent) {
	for k, v := range adminRecord(e) {
		ev[k] = v
	}
}

// mailboxIdentity is the mailbox or account a cmdlet names: its Identity
// parameter, else the record's ObjectId.
func mailboxIdentity(e tenant.ExchangeAdminEvent) string {
	if v, ok := e.Param("Identity"); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(e.ObjectID)
}

// userByIdentity resolves an Exchange identity to a user of the snapshot:
// by user principal name, by object id, then by the last part of an
// Exchange path ("…/contoso.onmicrosoft.com/ceo") as alias (the local part
// of exactly one UPN) or display name (exactly one user). Attacker-chosen
// names never resolve when ambiguous.
func (in *Input) userByIdentity(identity string) *tenant.User {
	id := strings.TrimSpace(identity)
	if id == "" {
		return nil
	}
	x := in.index()
	if u := x.usersByUPN[lowerID(id)]; u != nil {
		return u
	}
	if u := in.User(id); u != nil {
		return u
	}
	if i := strings.LastIndexAny(id, `/\`); i >= 0 {
		id = id[i+1:]
	}
	if us := x.usersByAlias[lowerID(id)]; len(us) == 1 {
		return us[0]
	}
	if us := x.usersByName[nameKey(id)]; len(us) == 1 {
		return us[0]
	}
	return nil
}

// userTarget is the subject for the user an Exchange identity names: the
// user when the snapshot resolves it, else a user subject without id whose
// evidence says objectIdResolved=false (the identity is then its name).
func (in *Input) userTarget(identity string, ev map[string]any) tenant.Subject {
	if u := in.userByIdentity(identity); u != nil {
		putAny(ev, "userPrincipalName", u.UPN)
		return userSubject(u)
	}
	ev["objectIdResolved"] = false
	return tenant.Subject{Type: tenant.SubjectUser, Name: cmp.Or(identity, "unknown mailbox")}
}

// subjectKeyPart is the key part for a subject: its object id, or what
// identified it when unresolved ("identity=<name hash>").
func subjectKeyPart(s tenant.Subject) string {
	if s.ID != "" {
		return s.ID
	}
	return "identity=" + nameHash(s.Name)
}

// tenantSubject is the tenant as a finding subject.
func tenantSubject(in *Input) tenant.Subject {
	org := in.Snapshot.Organization
	id := cmp.Or(strings.TrimSpace(org.ID), "unknown-tenant")
	return tenant.Subject{Type: tenant.SubjectTenant, ID: id, Name: cmp.Or(org.DisplayName, id)}
}

// within reports whether t lies in [from, to].
func within(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }
