package detect

import (
	"cmp"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Helpers that shape findings: keys, times and event records for evidence.

// maxListed caps evidence lists; the full count is given beside them.
const maxListed = 50

// lowerID normalises an object id for keys and comparisons.
func lowerID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// findingKey builds "<rule>:<part>:<part>…" with lower-cased parts.
func findingKey(rule string, parts ...string) string {
	var b strings.Builder
	b.WriteString(rule)
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(lowerID(p))
	}
	return b.String()
}

// ts formats t as RFC 3339 in UTC, or "" for the zero time.
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// putString sets m[key] = v when v is not empty.
func putString(m map[string]string, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// putAny sets m[key] = v when v is not empty.
func putAny(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// actorFields describes who performed an event: actor (UPN, display name or
// app id), actorId, actorAppId and actorIp, each when known.
func actorFields(a tenant.Actor) map[string]string {
	m := make(map[string]string, 4)
	putString(m, "actor", a.Name())
	putString(m, "actorId", cmp.Or(a.UserID, a.SPID))
	if a.UPN != "" || a.DisplayName != "" { // Name() did not fall back to the app id
		putString(m, "actorAppId", a.AppID)
	}
	putString(m, "actorIp", strings.TrimSpace(a.IP))
	return m
}

// eventRecord describes one audit event for an evidence list.
func eventRecord(e tenant.AuditEvent) map[string]string {
	m := actorFields(e.Initiator)
	m["time"] = ts(e.Time)
	m["activity"] = e.Activity
	putString(m, "eventId", e.ID)
	putString(m, "correlationId", e.CorrelationID)
	return m
}

// putEvent sets the fields of one audit event on evidence.
func putEvent(ev map[string]any, e tenant.AuditEvent) {
	for k, v := range eventRecord(e) {
		ev[k] = v
	}
}

// capStrings returns at most maxListed elements of ss.
func capStrings(ss []string) []string {
	if len(ss) > maxListed {
		return ss[:maxListed]
	}
	return ss
}

// userSubject is the subject for a user in the inventory.
func userSubject(u *tenant.User) tenant.Subject {
	return tenant.Subject{Type: tenant.SubjectUser, ID: u.ID, Name: u.Name()}
}

// credentialRecord describes a credential for an evidence list.
func credentialRecord(c tenant.Credential) map[string]string {
	m := map[string]string{"kind": string(c.Kind), "keyId": c.KeyID}
	putString(m, "type", c.Type)
	putString(m, "usage", c.Usage)
	putString(m, "displayName", c.DisplayName)
	putString(m, "start", ts(c.Start))
	putString(m, "end", ts(c.End))
	return m
}
