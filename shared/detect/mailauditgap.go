package detect

import (
	"context"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// auditGap finds mailboxes read by an application, or from an Azure
// address, after their auditing was reduced.
type auditGap struct{}

func newAuditGap() Detector { return auditGap{} }

func (auditGap) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "mail.audit-gap",
		Title: "Mailbox read after its auditing was reduced",
		Description: "A user named by audit.advanced-auditing-disabled, exo.mailbox-audit-bypass or exo.mailbox-audit-reduced has their " +
			"mailbox read by an application or from an Azure address afterwards: the Exchange records that still arrive are the only " +
			"trace of reading that auditing was reduced to hide.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1562.008", "T1114.002"},
		Sources:  []tenant.Source{tenant.SourceExchangeAudit},
	}
}

// evasion is one user whose mailbox auditing a rule found reduced, since
// when (zero: before the window, from state), by which rule.
type evasion struct {
	subject tenant.Subject
	upn     string
	since   time.Time
	rules   []string
}

// evasions runs the audit-evasion rules whose sources the snapshot holds
// and collects the users they name, by lower-case UPN.
func evasions(ctx context.Context, in *Input) map[string]*evasion {
	out := make(map[string]*evasion)
	for _, d := range []Detector{newAdvancedAuditingDisabled(), newMailboxAuditBypass(), newMailboxAuditReduced()} {
		r := d.Rule()
		if len(in.Snapshot.MissingSources(r.Sources)) > 0 {
			continue
		}
		fs, err := detectSafely(ctx, d, in)
		if err != nil {
			continue
		}
		for _, f := range fs {
			if f.Subject.Type != tenant.SubjectUser {
				continue
			}
			upn := f.Subject.Name
			if u := in.User(f.Subject.ID); u != nil && u.UPN != "" {
				upn = u.UPN
			} else if v, ok := f.Evidence["userPrincipalName"].(string); ok && v != "" {
				upn = v
			}
			k := lowerID(upn)
			if k == "" {
				continue
			}
			e := out[k]
			if e == nil {
				e = &evasion{subject: f.Subject, upn: upn, since: f.ObservedAt}
				out[k] = e
			}
			if f.ObservedAt.IsZero() || (!e.since.IsZero() && f.ObservedAt.Before(e.since)) {
				e.since = f.ObservedAt
			}
			e.rules = append(e.rules, r.ID)
		}
	}
	return out
}

func (d auditGap) Detect(ctx context.Context, in *Input) ([]tenant.Finding, error) {
	gaps := evasions(ctx, in)
	if len(gaps) == 0 {
		return nil, nil
	}
	type hit struct {
		e       *evasion
		records []map[string]string
		first   time.Time
		apps    map[string]bool
		items   int
	}
	hits := make(map[string]*hit)
	for _, m := range in.mailAccess() {
		e := gaps[lowerID(m.MailboxOwner)]
		if e == nil || m.Time.Before(e.since) {
			continue
		}
		azure := isAzureAddress(in, m.ClientIP)
		if !in.appRead(m) && !azure {
			continue
		}
		k := lowerID(m.MailboxOwner)
		h := hits[k]
		if h == nil {
			h = &hit{e: e, first: m.Time, apps: map[string]bool{}}
			hits[k] = h
		}
		rec := map[string]string{"time": ts(m.Time), "recordId": m.ID}
		putString(rec, "actor", m.Actor)
		putString(rec, "clientIp", m.ClientIP)
		if in.appRead(m) {
			rec["appId"] = m.ReaderAppID()
			h.apps[lowerID(m.ReaderAppID())] = true
		}
		if azure {
			rec["azureAddress"] = "true"
		}
		h.records = append(h.records, rec)
		h.items += m.Items
	}
	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		ev := map[string]any{
			"userPrincipalName": h.e.upn,
			"reducedBy":         h.e.rules,
			"reads":             capEvents(h.records),
			"readCount":         len(h.records),
			"itemCount":         h.items,
			"appIds":            sortedKeys(h.apps),
		}
		putAny(ev, "reducedAt", ts(h.e.since))
		if h.e.subject.ID == "" {
			ev["objectIdResolved"] = false
		}
		out = append(out, tenant.Finding{
			Subject:    h.e.subject,
			Evidence:   ev,
			Key:        findingKey(d.Rule().ID, subjectKeyPart(h.e.subject)),
			ObservedAt: h.first,
		})
	}
	return out, nil
}
