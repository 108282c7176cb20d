package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// credentialNearWindow is how close a credential must be to a reply-URL
// change to raise it.
const credentialNearWindow = 24 * time.Hour

// replyURLAdded finds reply (redirect) URLs added to applications and
// service principals.
type replyURLAdded struct{}

func newReplyURLAdded() Detector { return replyURLAdded{} }

func (replyURLAdded) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "sp.reply-url-added",
		Title: "Reply URL added to an application or service principal",
		Description: "A reply URL was added to an application or service principal: tokens can then be sent to it. " +
			"Raised to medium when the same object also got a credential within a day of the change.",
		Severity: tenant.SeverityLow,
		MITRE:    []string{"T1098.001"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits},
	}
}

// credentialTime is when an app object got a credential.
type credentialTime struct {
	obj    appObject
	keyID  string
	at     time.Time
	source string
}

func credentialTimes(in *Input) []credentialTime {
	var out []credentialTime
	for _, c := range credentialEvents(in) {
		out = append(out, credentialTime{obj: c.Obj, keyID: c.Key.ID, at: c.Record.Time, source: "auditLog"})
	}
	s := in.Snapshot
	for i := range s.ServicePrincipals {
		o := spObject(in, &s.ServicePrincipals[i])
		for _, c := range spCredentials(&s.ServicePrincipals[i]) {
			out = append(out, credentialTime{obj: o, keyID: c.KeyID, at: c.Start, source: "credentialState"})
		}
	}
	for i := range s.Applications {
		o := applicationObject(in, &s.Applications[i])
		for _, c := range s.Applications[i].Credentials {
			out = append(out, credentialTime{obj: o, keyID: c.KeyID, at: c.Start, source: "credentialState"})
		}
	}
	return out
}

// sortedUnique returns the distinct elements of ss, sorted.
func sortedUnique(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// addressHash is the first 12 hex digits of the SHA-256 of the sorted
// addresses, one a line.
func addressHash(sorted []string) string {
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(sum[:])[:12]
}

func (d replyURLAdded) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	var creds []credentialTime // built on first need
	credsBuilt := false
	seen := make(map[string]bool)
	reported := make(map[string]bool) // lower-case object id + " " + address
	var out []tenant.Finding
	for _, c := range audit.ReplyURLChanges(in.audits()) {
		added, props := c.Added()
		if len(added) == 0 {
			continue
		}
		e := c.Record
		obj := resolveAppObject(in, c.Object)
		k := findingKey(d.Rule().ID, obj.ID, addressHash(added))
		if seen[k] {
			continue
		}
		seen[k] = true
		ev := map[string]any{
			"addedAddresses": capStrings(added),
			"addedCount":     len(added),
			"property":       strings.Join(props, ", "),
		}
		putEvent(ev, e)
		obj.putIdentity(ev)
		f := tenant.Finding{Subject: obj.subject(), Evidence: ev, Key: k, ObservedAt: e.Time}

		if !credsBuilt {
			creds, credsBuilt = credentialTimes(in), true
		}
		// Severity rises for a credential on the same object within 24 h.
		// One on the paired object (the application of this service
		// principal, or the reverse) is listed but does not raise it: the
		// rule says the same object.
		var near, paired []map[string]string
		nearSeen := make(map[string]bool)
		for _, c := range creds {
			if c.at.IsZero() || !c.obj.related(obj) || nearSeen[lowerID(c.obj.ID)+" "+lowerID(c.keyID)] {
				continue
			}
			if diff := c.at.Sub(e.Time); diff > credentialNearWindow || diff < -credentialNearWindow {
				continue
			}
			nearSeen[lowerID(c.obj.ID)+" "+lowerID(c.keyID)] = true
			rec := map[string]string{
				"keyId": c.keyID, "time": ts(c.at), "source": c.source,
				"objectType": string(c.obj.Type), "objectId": c.obj.ID,
			}
			if strings.EqualFold(strings.TrimSpace(c.obj.ID), strings.TrimSpace(obj.ID)) {
				near = append(near, rec)
			} else {
				paired = append(paired, rec)
			}
		}
		if len(near) > 0 {
			f.Severity = tenant.SeverityMedium
			ev["credentialsNearby"] = near
		}
		if len(paired) > 0 {
			ev["credentialsNearbyOnPairedObject"] = paired
		}
		for _, a := range added {
			reported[lowerID(obj.ID)+" "+a] = true
		}
		out = append(out, f)
	}
	return append(out, d.fromChanges(in, reported)...), nil
}

// fromChanges reports reply URLs that an incremental round found missing
// from an object's baseline and that no audit event in the window already
// reported: the delta query sees the change even when the audit log is
// late or incomplete.
func (d replyURLAdded) fromChanges(in *Input, reported map[string]bool) []tenant.Finding {
	type group struct {
		obj   appObject
		urls  []string
		first time.Time
	}
	groups := make(map[string]*group)
	var order []string
	for _, c := range in.Snapshot.Changes {
		if c.Kind != tenant.ChangeReplyURLAdded || reported[lowerID(c.ObjectID)+" "+c.Value] {
			continue
		}
		var obj appObject
		switch {
		case c.ObjectType == tenant.SubjectServicePrincipal && in.ServicePrincipal(c.ObjectID) != nil:
			obj = spObject(in, in.ServicePrincipal(c.ObjectID))
		case c.ObjectType == tenant.SubjectApplication && in.Application(c.ObjectID) != nil:
			obj = applicationObject(in, in.Application(c.ObjectID))
		default:
			continue
		}
		k := lowerID(obj.ID)
		g := groups[k]
		if g == nil {
			g = &group{obj: obj, first: c.SeenAt}
			groups[k] = g
			order = append(order, k)
		}
		g.urls = append(g.urls, c.Value)
		if c.SeenAt.Before(g.first) {
			g.first = c.SeenAt
		}
	}
	var out []tenant.Finding
	for _, k := range order {
		g := groups[k]
		added := sortedUnique(g.urls)
		ev := map[string]any{
			"addedAddresses":       capStrings(added),
			"addedCount":           len(added),
			"sources":              []string{"baselineChange"},
			"baselineChangeSeenAt": ts(g.first),
		}
		putAny(ev, "appId", g.obj.AppID)
		if !in.Snapshot.Available(tenant.SourceDirectoryAudits) {
			ev["auditLogChecked"] = false
		}
		f := tenant.Finding{Subject: g.obj.subject(), Evidence: ev, Key: findingKey(d.Rule().ID, g.obj.ID, addressHash(added)), ObservedAt: g.first}
		var near []map[string]string
		for _, c := range credentialTimes(in) {
			if c.at.IsZero() || !strings.EqualFold(strings.TrimSpace(c.obj.ID), strings.TrimSpace(g.obj.ID)) {
				continue
			}
			_, changed := in.Change(tenant.ChangeCredentialAdded, c.obj.ID, c.keyID)
			if diff := c.at.Sub(g.first); !changed && (diff > credentialNearWindow || diff < -credentialNearWindow) {
				continue
			}
			near = append(near, map[string]string{"keyId": c.keyID, "time": ts(c.at), "source": c.source, "objectType": string(c.obj.Type), "objectId": c.obj.ID})
		}
		if len(near) > 0 {
			f.Severity = tenant.SeverityMedium
			ev["credentialsNearby"] = near
		}
		out = append(out, f)
	}
	return out
}
