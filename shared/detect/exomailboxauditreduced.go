package detect

import (
	"context"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/exoaudit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// mailboxAuditReduced finds mailboxes whose auditing was turned off or no
// longer records MailItemsAccessed.
type mailboxAuditReduced struct{}

func newMailboxAuditReduced() Detector { return mailboxAuditReduced{} }

func (mailboxAuditReduced) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "exo.mailbox-audit-reduced",
		Title: "Mailbox auditing turned off or MailItemsAccessed no longer recorded",
		Description: "Set-Mailbox set AuditEnabled to false, or set AuditOwner, AuditDelegate or AuditAdmin so that MailItemsAccessed " +
			"is no longer recorded (a list without it, or a removal of it): reading that mailbox then leaves no trace.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1562.008"},
		Sources:  []tenant.Source{tenant.SourceExchangeAudit},
	}
}

// auditSetParams are the Set-Mailbox parameters that hold a logon type's
// audited actions.
var auditSetParams = []string{"AuditOwner", "AuditDelegate", "AuditAdmin"}

// auditReductions returns what a Set-Mailbox run did to MailItemsAccessed
// auditing, one line per reducing parameter ("AuditEnabled=False",
// "AuditOwner: MailItemsAccessed removed", "AuditAdmin: replaced by
// [Update, SendAs]"); none for a run that keeps it.
func auditReductions(e tenant.ExchangeAdminEvent) []string {
	var out []string
	if on, ok := boolParam(e, "AuditEnabled"); ok && !on {
		v, _ := e.Param("AuditEnabled")
		out = append(out, "AuditEnabled="+strings.TrimSpace(v))
	}
	for _, p := range auditSetParams {
		v, ok := e.Param(p)
		if !ok {
			continue
		}
		l := exoaudit.AuditActions(v)
		switch {
		case exoaudit.Has(l.Removed, actionMailItemsAccessed) && !exoaudit.Has(l.Added, actionMailItemsAccessed) && !exoaudit.Has(l.Set, actionMailItemsAccessed):
			out = append(out, p+": "+actionMailItemsAccessed+" removed")
		case l.Replace && !exoaudit.Has(l.Set, actionMailItemsAccessed) && !exoaudit.Has(l.Added, actionMailItemsAccessed):
			out = append(out, p+": replaced by ["+strings.Join(capStrings(l.Set), ", ")+"]")
		}
	}
	return out
}

func (d mailboxAuditReduced) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	byKey := make(map[string]*tenant.Finding)
	events := make(map[string][]map[string]string)
	var order []string
	for _, e := range in.cmdlets(cmdSetMailbox) {
		reductions := auditReductions(e)
		if len(reductions) == 0 {
			continue
		}
		identity := mailboxIdentity(e)
		ev := map[string]any{}
		subject := in.userTarget(identity, ev)
		k := findingKey(d.Rule().ID, subjectKeyPart(subject))
		rec := adminRecord(e)
		rec["reductions"] = strings.Join(reductions, "; ")
		events[k] = append(events[k], rec)
		if byKey[k] != nil {
			continue
		}
		ev["identity"] = identity
		ev["reductions"] = reductions
		putAdmin(ev, e)
		byKey[k] = &tenant.Finding{Subject: subject, Evidence: ev, Key: k, ObservedAt: e.Time}
		order = append(order, k)
	}
	out := make([]tenant.Finding, 0, len(order))
	for _, k := range order {
		f := byKey[k]
		if len(events[k]) > 1 {
			f.Evidence["events"] = capEvents(events[k])
		}
		out = append(out, *f)
	}
	return out, nil
}
