package detect

import (
	"context"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// orgAuditDisabled finds auditing switched off for the whole tenant.
type orgAuditDisabled struct{}

func newOrgAuditDisabled() Detector { return orgAuditDisabled{} }

func (orgAuditDisabled) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "exo.org-audit-disabled",
		Title: "Auditing turned off for the whole organisation",
		Description: "Set-OrganizationConfig set AuditDisabled to true (no mailbox is audited), Set-AdminAuditLogConfig set " +
			"UnifiedAuditLogIngestionEnabled to false (the unified audit log records nothing), or the Management Activity API " +
			"answered that the tenant is not enabled for auditing.",
		Severity: tenant.SeverityCritical,
		MITRE:    []string{"T1562.008"},
		// Not SourceExchangeAudit: when the API answers that auditing is
		// off, that source is unavailable and the answer is the finding.
		// Detect skips the rule itself when the source is unavailable for
		// another reason.
		Sources: []tenant.Source{tenant.SourceOrganization},
	}
}

// orgAuditSwitch is one organisation-wide audit switch: the cmdlet, its
// parameter, and the value that turns auditing off.
type orgAuditSwitch struct {
	cmdlet, param, part string
	offWhen             bool
}

var orgAuditSwitches = []orgAuditSwitch{
	{cmdlet: cmdSetOrganizationConfig, param: "AuditDisabled", part: "mailbox-auditing", offWhen: true},
	{cmdlet: cmdSetAdminAuditLogConfig, param: "UnifiedAuditLogIngestionEnabled", part: "unified-audit-log", offWhen: false},
}

func (d orgAuditDisabled) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	subject := tenantSubject(in)
	var out []tenant.Finding
	if off := strings.TrimSpace(s.AuditingOff); off != "" {
		out = append(out, tenant.Finding{
			Subject: subject,
			Evidence: map[string]any{
				"source":      "managementActivityApi",
				"apiResponse": off,
			},
			Key: findingKey(d.Rule().ID, subject.ID, "api-not-enabled"),
		})
	}
	if !s.Available(tenant.SourceExchangeAudit) {
		if len(out) > 0 {
			return out, nil
		}
		return nil, Skip("exchangeAudit: " + s.Unavailable[tenant.SourceExchangeAudit])
	}
	for _, sw := range orgAuditSwitches {
		var f *tenant.Finding
		for _, e := range in.cmdlets(sw.cmdlet) {
			v, ok := boolParam(e, sw.param)
			if !ok {
				continue
			}
			raw, _ := e.Param(sw.param)
			if v != sw.offWhen {
				if f != nil { // turned back on later in the window
					f.Evidence["reenabledAt"] = ts(e.Time)
					putAny(f.Evidence, "reenabledBy", e.Actor)
				}
				continue
			}
			if f != nil {
				delete(f.Evidence, "reenabledAt")
				delete(f.Evidence, "reenabledBy")
				continue
			}
			ev := map[string]any{"source": "exchangeAdminAudit", "setting": sw.param + "=" + strings.TrimSpace(raw)}
			putAdmin(ev, e)
			f = &tenant.Finding{Subject: subject, Evidence: ev, Key: findingKey(d.Rule().ID, subject.ID, sw.part), ObservedAt: e.Time}
		}
		if f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}
