package detect

import (
	"context"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// mailboxAuditBypass finds accounts exempted from mailbox auditing.
type mailboxAuditBypass struct{}

func newMailboxAuditBypass() Detector { return mailboxAuditBypass{} }

func (mailboxAuditBypass) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "exo.mailbox-audit-bypass",
		Title: "Account exempted from mailbox auditing",
		Description: "Set-MailboxAuditBypassAssociation set AuditBypassEnabled to true for an account: nothing that account does in any mailbox " +
			"is audited from then on, MailItemsAccessed included, while auditing stays on for everyone else.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1562.008"},
		Sources:  []tenant.Source{tenant.SourceExchangeAudit},
	}
}

func (d mailboxAuditBypass) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	type hit struct {
		f      tenant.Finding
		events []map[string]string
	}
	hits := make(map[string]*hit)
	var order []string
	for _, e := range in.cmdlets(cmdSetMailboxAuditBypass) {
		on, ok := boolParam(e, "AuditBypassEnabled")
		if !ok {
			continue
		}
		identity := mailboxIdentity(e)
		ev := map[string]any{}
		subject := in.userTarget(identity, ev)
		k := findingKey(d.Rule().ID, subjectKeyPart(subject))
		h := hits[k]
		if !on {
			// Bypass turned off again: a later event of the same account
			// says so; on its own it is no finding.
			if h != nil {
				rec := adminRecord(e)
				rec["auditBypassEnabled"] = "false"
				h.events = append(h.events, rec)
				h.f.Evidence["bypassRemovedAt"] = ts(e.Time)
			}
			continue
		}
		rec := adminRecord(e)
		rec["auditBypassEnabled"] = "true"
		if h != nil {
			h.events = append(h.events, rec)
			delete(h.f.Evidence, "bypassRemovedAt")
			continue
		}
		ev["identity"] = identity
		putAdmin(ev, e)
		h = &hit{f: tenant.Finding{Subject: subject, Evidence: ev, Key: k, ObservedAt: e.Time}, events: []map[string]string{rec}}
		hits[k] = h
		order = append(order, k)
	}
	out := make([]tenant.Finding, 0, len(order))
	for _, k := range order {
		h := hits[k]
		if len(h.events) > 1 {
			h.f.Evidence["events"] = capEvents(h.events)
		}
		out = append(out, h.f)
	}
	return out, nil
}

// capEvents returns at most maxListed events.
func capEvents(es []map[string]string) []map[string]string {
	if len(es) > maxListed {
		return es[:maxListed]
	}
	return es
}
