package detect

import (
	"context"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// credentialAdded finds credentials added to service principals and
// applications: from the audit log, and from service principal credentials
// that started in the window.
type credentialAdded struct{}

func newCredentialAdded() Detector { return credentialAdded{} }

func (credentialAdded) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "sp.credential-added",
		Title: "Credential added to a service principal or application",
		Description: "A certificate or secret was added to an application or service principal. " +
			"APT29 added credentials to apps that could read mail; the finding is high when the app holds a mail permission or is a Microsoft first-party app.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1098.001"},
		Sources:  []tenant.Source{tenant.SourceServicePrincipals},
	}
}

// riskOf explains why a credential on o is high severity: the app's
// service principal holds mail roles, or the app is Microsoft first-party.
// An application and its service principal are one app: a credential on the
// application signs in as the service principal, so the service principal's
// roles count for both (found by app id through the data the run holds).
func riskOf(o appObject, held map[string][]heldMailRole) (reasons, roles []string) {
	if o.SPID == "" {
		return nil, nil
	}
	if hs := held[lowerID(o.SPID)]; len(hs) > 0 {
		roles = roleNames(hs)
		who := "its service principal"
		if o.Type == tenant.SubjectServicePrincipal {
			who = "the service principal"
		}
		reasons = append(reasons, who+" holds mail permissions: "+strings.Join(roles, ", "))
	}
	if isMicrosoftTenant(o.Owner) {
		reasons = append(reasons, "Microsoft first-party application (owner tenant "+lowerID(o.Owner)+")")
	}
	return reasons, roles
}

func (d credentialAdded) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	held := mailRolesHeld(in, newMailCatalogue(in))
	byKey := make(map[string]*tenant.Finding)
	var order []string

	finish := func(f *tenant.Finding, o appObject) {
		reasons, roles := riskOf(o, held)
		if len(reasons) > 0 {
			f.Severity = tenant.SeverityHigh
			f.Evidence["highBecause"] = reasons
		}
		if len(roles) > 0 {
			f.Evidence["mailRoles"] = roles
		}
		if !s.Available(tenant.SourceResourceGrants) {
			f.Evidence["mailAccessChecked"] = false
		}
		o.putIdentity(f.Evidence)
	}

	for _, c := range credentialEvents(in) {
		k := findingKey(d.Rule().ID, c.Obj.ID, c.Key.ID)
		if byKey[k] != nil {
			continue // the earliest event for this key wins
		}
		ev := map[string]any{
			"keyId":          c.Key.ID,
			"keyType":        c.Key.Type,
			"keyUsage":       c.Key.Usage,
			"keyDisplayName": c.Key.DisplayName,
			"sources":        []string{"auditLog"},
		}
		putEvent(ev, c.Record)
		f := &tenant.Finding{Subject: c.Obj.subject(), Evidence: ev, Key: k, ObservedAt: c.Record.Time}
		finish(f, c.Obj)
		byKey[k] = f
		order = append(order, k)
	}

	// State: a credential that started in the window, or one an
	// incremental round found missing from the object's baseline (whatever
	// its startDateTime says: an attacker can backdate it).
	type stateObj struct {
		o     appObject
		creds []tenant.Credential
	}
	var objs []stateObj
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		objs = append(objs, stateObj{spObject(in, sp), spCredentials(sp)})
	}
	if len(s.Changes) > 0 {
		for i := range s.Applications {
			a := &s.Applications[i]
			objs = append(objs, stateObj{applicationObject(in, a), a.Credentials})
		}
	}
	for _, so := range objs {
		o := so.o
		for _, c := range so.creds {
			if o.ID == "" || c.KeyID == "" {
				continue
			}
			change, changed := in.Change(tenant.ChangeCredentialAdded, o.ID, c.KeyID)
			inWindow := o.Type == tenant.SubjectServicePrincipal && !c.Start.Before(s.Since) && !c.Start.After(in.Now)
			if !changed && !inWindow {
				continue
			}
			sources := []string{"credentialState"}
			if changed {
				sources = append(sources, "baselineChange")
			}
			k := findingKey(d.Rule().ID, o.ID, c.KeyID)
			if f := byKey[k]; f != nil {
				f.Evidence["sources"] = append([]string{"auditLog"}, sources...)
				f.Evidence["start"] = ts(c.Start)
				putAny(f.Evidence, "end", ts(c.End))
				continue
			}
			ev := map[string]any{
				"keyId":          c.KeyID,
				"credentialKind": string(c.Kind),
				"start":          ts(c.Start),
				"sources":        sources,
			}
			var observed time.Time
			if changed {
				observed = change.SeenAt
				ev["baselineChangeSeenAt"] = ts(change.SeenAt)
				if c.Start.Before(change.SeenAt.Add(-24 * time.Hour)) {
					ev["startBeforeFirstSeen"] = true
				}
			}
			putAny(ev, "keyType", c.Type)
			putAny(ev, "keyUsage", c.Usage)
			putAny(ev, "keyDisplayName", c.DisplayName)
			putAny(ev, "end", ts(c.End))
			if !s.Available(tenant.SourceDirectoryAudits) {
				ev["auditLogChecked"] = false
			}
			f := &tenant.Finding{Subject: o.subject(), Evidence: ev, Key: k, ObservedAt: observed}
			finish(f, o)
			byKey[k] = f
			order = append(order, k)
		}
	}

	out := make([]tenant.Finding, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}
