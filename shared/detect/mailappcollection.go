package detect

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// appCollection summarises the mail each application read.
type appCollection struct{}

func newAppCollection() Detector { return appCollection{} }

func (appCollection) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "mail.app-collection",
		Title: "Application read mailboxes",
		Description: "MailItemsAccessed records show an application (AppId/ClientAppId, not the owner's own session) reading mail, " +
			"summarised per app: mailboxes, items, client addresses, throttled records. Critical when the app got a credential, a mail " +
			"permission or a mailbox-reading Exchange role in the 30 days before, is a Microsoft first-party app with a credential in the " +
			"tenant, or read from an Azure address; high otherwise.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1114.002"},
		Sources:  []tenant.Source{tenant.SourceExchangeAudit},
	}
}

// leadTime is how long before the first read a grant or credential makes
// the reading critical.
const leadTime = 30 * 24 * time.Hour

// appReads is what one app read in the window.
type appReads struct {
	appID       string
	mailboxes   map[string]int // mailbox owner (lower case) → items
	items       int
	records     int
	throttled   int
	ips         map[string]int
	accessTypes map[string]bool
	first, last time.Time
}

// readsByApp groups the window's app reads by reading app id.
func readsByApp(in *Input) map[string]*appReads {
	out := make(map[string]*appReads)
	for _, m := range in.mailAccess() {
		if !in.appRead(m) {
			continue
		}
		id := lowerID(m.ReaderAppID())
		r := out[id]
		if r == nil {
			r = &appReads{appID: id, mailboxes: map[string]int{}, ips: map[string]int{}, accessTypes: map[string]bool{}, first: m.Time}
			out[id] = r
		}
		r.records++
		r.items += m.Items
		r.mailboxes[lowerID(m.MailboxOwner)] += m.Items
		if m.Throttled {
			r.throttled++
		}
		if ip := strings.TrimSpace(m.ClientIP); ip != "" {
			r.ips[ip]++
		}
		if t := strings.TrimSpace(m.AccessType); t != "" {
			r.accessTypes[t] = true
		}
		if m.Time.Before(r.first) {
			r.first = m.Time
		}
		if m.Time.After(r.last) {
			r.last = m.Time
		}
	}
	return out
}

func (d appCollection) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	reads := readsByApp(in)
	if len(reads) == 0 {
		return nil, nil
	}
	cat := newMailCatalogue(in)
	var out []tenant.Finding
	for _, id := range sortedKeys(reads) {
		r := reads[id]
		o := appObject{Type: tenant.SubjectServicePrincipal, AppID: r.appID}
		if a := in.index().spInfoByApp[r.appID]; a != nil {
			o = objectOf(in, a)
		}
		from, to := r.first.Add(-leadTime), r.last
		var critical []string
		var access []map[string]string

		// Credentials: added in the audit log, or starting (credential
		// state) in the 30 days before the reads.
		for _, c := range credentialEvents(in) {
			if c.Obj.related(o) && within(c.Record.Time, from, to) {
				access = append(access, map[string]string{"what": "credential added", "keyId": c.Key.ID, "time": ts(c.Record.Time), "source": "auditLog"})
			}
		}
		if o.SP != nil {
			for _, c := range spCredentials(o.SP) {
				if !c.Start.IsZero() && within(c.Start, from, to) {
					access = append(access, map[string]string{"what": "credential starts", "keyId": c.KeyID, "time": ts(c.Start), "source": "credentialState"})
				}
			}
		}
		// Mail permissions granted in Entra ID: audit log, then the grants.
		for _, g := range audit.AppRoleGrants(in.audits()) {
			role, ok := grantedMailRole(in, cat, g)
			if !ok {
				continue
			}
			if c, _, ok := clientOf(in, g.Client); ok && c.related(o) && within(g.Record.Time, from, to) {
				access = append(access, map[string]string{"what": "mail permission granted", "role": role.Resource() + ": " + role.Value, "time": ts(g.Record.Time), "source": "auditLog"})
			}
		}
		if o.SPID != "" {
			for _, h := range mailRolesHeld(in, cat)[lowerID(o.SPID)] {
				if !h.Grant.Created.IsZero() && within(h.Grant.Created, from, to) {
					access = append(access, map[string]string{"what": "mail permission granted", "role": h.Role.Resource() + ": " + h.Role.Value, "time": ts(h.Grant.Created), "source": "appRoleAssignedTo"})
				}
			}
		}
		// Exchange roles that read mail.
		for _, g := range mailRoleGrants(in) {
			if g.Kind == "App" && grantApp(in, g.Assignee).related(o) && within(g.Event.Time, from, to) {
				access = append(access, map[string]string{"what": "Exchange role assigned", "role": g.Role, "time": ts(g.Event.Time), "source": "exchangeAdminAudit"})
			}
		}
		// Findings an earlier round recorded on the app (the deployed
		// app's Exchange rounds, whose snapshot holds no directory audits).
		for _, p := range s.Prior {
			if priorAccessRules[p.Rule] && priorOnApp(p, o, r.appID) && within(p.ObservedAt, from, to) {
				access = append(access, map[string]string{"what": priorAccessWhat[p.Rule], "rule": p.Rule, "key": p.Key, "time": ts(p.ObservedAt), "source": "earlierFinding"})
			}
		}
		if len(access) > 0 {
			slices.SortStableFunc(access, func(a, b map[string]string) int { return strings.Compare(a["time"], b["time"]) })
			access = slices.CompactFunc(access, func(a, b map[string]string) bool {
				return a["what"] == b["what"] && a["time"] == b["time"] && a["keyId"] == b["keyId"] && a["role"] == b["role"] && a["key"] == b["key"]
			})
			why := "access given in the 30 days before the reads: " + access[0]["what"] + " at " + access[0]["time"]
			if r := access[0]["rule"]; r != "" {
				why += " (reported earlier as " + r + ")"
			}
			critical = append(critical, why)
		}
		if o.SP != nil && isMicrosoftTenant(o.Owner) && len(spCredentials(o.SP)) > 0 {
			critical = append(critical, "Microsoft first-party application with a credential in the tenant")
		}

		ipList := sortedKeys(r.ips)
		slices.SortStableFunc(ipList, compareIPs)
		ips := make([]map[string]any, 0, min(len(ipList), maxListed))
		azure := 0
		for _, ip := range ipList[:min(len(ipList), maxListed)] {
			m := map[string]any{"ip": ip, "records": r.ips[ip]}
			if in.Azure != nil {
				if tag, ok := in.Azure.ContainsString(ip); ok {
					m["azureTag"] = tag
					azure++
				}
			}
			ips = append(ips, m)
		}
		if azure > 0 {
			critical = append(critical, "read from Azure addresses")
		}

		mailboxes := sortedKeys(r.mailboxes)
		mb := make([]map[string]any, 0, min(len(mailboxes), maxListed))
		for _, owner := range mailboxes[:min(len(mailboxes), maxListed)] {
			m := map[string]any{"mailbox": owner, "items": r.mailboxes[owner]}
			if u := in.userByIdentity(owner); u != nil {
				m["userId"] = u.ID
			}
			mb = append(mb, m)
		}
		ev := map[string]any{
			"mailboxes":        mb,
			"mailboxCount":     len(mailboxes),
			"itemCount":        r.items,
			"recordCount":      r.records,
			"throttledRecords": r.throttled,
			"clientIps":        ips,
			"ipCount":          len(ipList),
			"firstRead":        ts(r.first),
			"lastRead":         ts(r.last),
			"accessTypes":      sortedKeys(r.accessTypes),
		}
		o.putIdentity(ev)
		putAny(ev, "appOwnerOrganizationId", o.Owner)
		if len(access) > 0 {
			ev["accessGiven"] = capEvents(access)
		}
		var unchecked []string
		for _, src := range []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceResourceGrants, tenant.SourceServicePrincipals} {
			if !s.Available(src) {
				unchecked = append(unchecked, string(src))
			}
		}
		if in.Azure == nil {
			unchecked = append(unchecked, string(tenant.SourceAzureRanges))
		}
		if len(unchecked) > 0 {
			ev["notChecked"] = unchecked
		}
		f := tenant.Finding{Subject: o.subject(), Evidence: ev, ObservedAt: r.first, Severity: tenant.SeverityHigh}
		if len(critical) > 0 {
			f.Severity = tenant.SeverityCritical
			ev["criticalBecause"] = critical
		}
		keyPart := o.ID
		if !o.resolved() {
			keyPart = "appid=" + r.appID
		}
		f.Key = findingKey(d.Rule().ID, keyPart)
		out = append(out, f)
	}
	return out, nil
}

// PriorAccessRules are the rules whose earlier findings on an app say what
// gave it access to mail: mail.app-collection joins them (Snapshot.Prior).
var PriorAccessRules = []string{"sp.credential-added", "app.mail-permission-granted", "sp.first-party-credential", "exo.impersonation-granted"}

var (
	priorAccessRules = map[string]bool{}
	priorAccessWhat  = map[string]string{
		"sp.credential-added":         "credential added",
		"app.mail-permission-granted": "mail permission granted",
		"sp.first-party-credential":   "credential added to a Microsoft first-party app",
		"exo.impersonation-granted":   "Exchange role assigned",
	}
)

func init() {
	for _, r := range PriorAccessRules {
		priorAccessRules[r] = true
	}
}

// LeadTime is how far before an app's first mail read mail.app-collection
// looks for what gave it access.
const LeadTime = leadTime

// priorOnApp reports whether the earlier finding p is on the app o (read
// by app id appID): its subject is the app's service principal or
// application, or its evidence names the app id.
func priorOnApp(p tenant.Finding, o appObject, appID string) bool {
	id := lowerID(p.Subject.ID)
	if id != "" && (id == lowerID(o.ID) || id == lowerID(o.SPID) || o.App != nil && id == lowerID(o.App.ID)) {
		return true
	}
	v, _ := p.Evidence["appId"].(string)
	v = strings.TrimSpace(v)
	return v != "" && (strings.EqualFold(v, appID) || strings.EqualFold(v, o.AppID))
}

// isAzureAddress reports whether ip is in the Azure ranges (false without
// them).
func isAzureAddress(in *Input, ip string) bool {
	if in.Azure == nil {
		return false
	}
	if _, err := netip.ParseAddr(strings.TrimSpace(ip)); err != nil {
		return false
	}
	_, ok := in.Azure.ContainsString(ip)
	return ok
}
