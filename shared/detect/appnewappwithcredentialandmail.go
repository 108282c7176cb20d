package detect

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// newAppChain finds the 2024 chain on one app: created, given a
// credential and granted a mail role within a few days, in any order.
type newAppChain struct{}

func newNewAppChain() Detector { return newAppChain{} }

// ChainPriorRules are the rules whose earlier findings
// app.new-app-with-credential-and-mail accepts as parts of the chain
// (Snapshot.Prior): the deployed app's rounds may see the credential or
// the grant in an earlier round than the app's creation.
var ChainPriorRules = []string{"sp.credential-added", "app.mail-permission-granted"}

func (newAppChain) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "app.new-app-with-credential-and-mail",
		Title: "New application given a credential and a mail permission",
		Description: "Within AppChainWithin (default 7 days), in any order: an app was created (\"Add application\" or \"Add " +
			"service principal\"), a credential was added to it and a mail application permission granted to its service " +
			"principal — Midnight Blizzard's 2024 chain (an OAuth app granted full_access_as_app). The credential and the grant " +
			"may come from the audit log or from earlier findings of sp.credential-added and app.mail-permission-granted; " +
			"the creation must be in the audit log the run reads.",
		Severity: tenant.SeverityCritical,
		MITRE:    []string{"T1098.001", "T1098.003", "T1114.002"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits},
	}
}

// chainPart is one step of the chain on some app.
type chainPart struct {
	step   string // "created", "credential", "mailRole"
	at     time.Time
	keys   map[string]bool // the app's identities: "id:<object id>", "app:<app id>"
	obj    appObject       // the object the part names
	what   map[string]string
	source string // "auditLog" or "earlierFinding"
}

// appKeys returns the identities of an app named by object ids and app
// ids, completed through the data the run holds (an object's app id; an
// app id's service principal and application).
func appKeys(in *Input, objIDs, appIDs []string) map[string]bool {
	x := in.index()
	keys := make(map[string]bool)
	addApp := func(a string) {
		if a = lowerID(a); a == "" {
			return
		}
		keys["app:"+a] = true
		if sp := x.spInfoByApp[a]; sp != nil && sp.ID != "" {
			keys["id:"+lowerID(sp.ID)] = true
		}
		if ap := x.apInfoByApp[a]; ap != nil && ap.ID != "" {
			keys["id:"+lowerID(ap.ID)] = true
		}
	}
	for _, id := range objIDs {
		if id = lowerID(id); id == "" {
			continue
		}
		keys["id:"+id] = true
		if a := x.apps[id]; a != nil {
			addApp(a.AppID)
		}
	}
	for _, a := range appIDs {
		addApp(a)
	}
	return keys
}

func objectKeys(in *Input, o appObject) map[string]bool {
	ids := []string{o.ID, o.SPID}
	if o.App != nil {
		ids = append(ids, o.App.ID)
	}
	return appKeys(in, ids, []string{o.AppID})
}

func overlaps(a, b map[string]bool) bool {
	for k := range a {
		if b[k] {
			return true
		}
	}
	return false
}

func chainParts(in *Input) (created, creds, roles []chainPart) {
	for _, a := range audit.AppsAdded(in.audits()) {
		o := resolveAppObject(in, a.Object)
		o.AppID = cmp.Or(o.AppID, a.AppID)
		what := eventRecord(a.Record)
		putString(what, "objectId", a.Object.ID)
		putString(what, "appId", a.AppID)
		created = append(created, chainPart{step: "created", at: a.Record.Time, keys: appKeys(in, []string{a.Object.ID}, []string{a.AppID}),
			obj: o, what: what, source: "auditLog"})
	}
	for _, c := range credentialEvents(in) {
		what := eventRecord(c.Record)
		what["keyId"] = c.Key.ID
		putString(what, "keyType", c.Key.Type)
		creds = append(creds, chainPart{step: "credential", at: c.Record.Time, keys: objectKeys(in, c.Obj), obj: c.Obj, what: what, source: "auditLog"})
	}
	cat := newMailCatalogue(in)
	for _, g := range audit.AppRoleGrants(in.audits()) {
		role, ok := grantedMailRole(in, cat, g)
		if !ok {
			continue
		}
		client, _, ok := clientOf(in, g.Client)
		if !ok {
			continue
		}
		what := eventRecord(g.Record)
		what["role"] = role.Resource() + ": " + role.Value
		roles = append(roles, chainPart{step: "mailRole", at: g.Record.Time, keys: objectKeys(in, client), obj: client, what: what, source: "auditLog"})
	}
	for _, p := range in.Snapshot.Prior {
		var list *[]chainPart
		step := ""
		switch p.Rule {
		case "sp.credential-added":
			list, step = &creds, "credential"
		case "app.mail-permission-granted":
			list, step = &roles, "mailRole"
		default:
			continue
		}
		appID, _ := p.Evidence["appId"].(string)
		what := map[string]string{"time": ts(p.ObservedAt), "rule": p.Rule, "key": p.Key}
		if v, ok := p.Evidence["keyId"].(string); ok {
			putString(what, "keyId", v)
		}
		if v, ok := p.Evidence["roleValue"].(string); ok {
			putString(what, "role", v)
		}
		obj := appObject{Type: p.Subject.Type, ID: p.Subject.ID, Name: p.Subject.Name, AppID: appID}
		if p.Subject.Type == tenant.SubjectServicePrincipal {
			obj.SPID = p.Subject.ID
		}
		*list = append(*list, chainPart{step: step, at: p.ObservedAt, keys: appKeys(in, []string{p.Subject.ID}, []string{appID}),
			obj: obj, what: what, source: "earlierFinding"})
	}
	return created, creds, roles
}

func (d newAppChain) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	cfg := in.Config.withDefaults()
	created, creds, roles := chainParts(in)
	seen := make(map[string]bool)
	var out []tenant.Finding
	for _, c := range created {
		// The earliest credential and grant on the same app that keep the
		// whole chain within the span.
		var best []chainPart
		for _, cr := range creds {
			if !overlaps(c.keys, cr.keys) {
				continue
			}
			for _, r := range roles {
				if !overlaps(c.keys, r.keys) && !overlaps(cr.keys, r.keys) {
					continue
				}
				parts := []chainPart{c, cr, r}
				first, last := parts[0].at, parts[0].at
				for _, p := range parts[1:] {
					first, last = minTime(first, p.at), maxTime(last, p.at)
				}
				if last.Sub(first) <= cfg.AppChainWithin {
					best = parts
					break
				}
			}
			if best != nil {
				break
			}
		}
		if best == nil {
			continue
		}
		// The subject: the service principal the mail role was granted
		// to, else the service principal created, else the object the
		// credential went to, else the object created.
		subj := best[2].obj
		for _, o := range []appObject{best[2].obj, c.obj, best[1].obj} {
			if o.resolved() && o.Type == tenant.SubjectServicePrincipal {
				subj = o
				break
			}
		}
		if !subj.resolved() {
			for _, o := range []appObject{best[1].obj, c.obj} {
				if o.resolved() {
					subj = o
					break
				}
			}
		}
		subj.AppID = cmp.Or(subj.AppID, c.obj.AppID, best[1].obj.AppID, best[2].obj.AppID)
		k := findingKey(d.Rule().ID, clientKey(subj))
		if seen[k] {
			continue
		}
		seen[k] = true
		slices.SortStableFunc(best, func(a, b chainPart) int { return a.at.Compare(b.at) })
		chain := make([]map[string]string, 0, len(best))
		for _, p := range best {
			m := map[string]string{"step": p.step, "source": p.source}
			for k, v := range p.what {
				m[k] = v
			}
			chain = append(chain, m)
		}
		ev := map[string]any{
			"chain":     chain,
			"spanHours": int(best[len(best)-1].at.Sub(best[0].at).Hours()),
			"order":     best[0].step + " → " + best[1].step + " → " + best[2].step,
		}
		subj.putIdentity(ev)
		out = append(out, tenant.Finding{Subject: subj.subject(), Evidence: ev, Key: k, ObservedAt: best[len(best)-1].at})
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
