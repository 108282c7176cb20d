package detect

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Service plan M365_ADVANCED_AUDITING (not M365_AUDIT_PLATFORM,
// f6de4823-28fa-440b-b886-4783fa86ddba).
const (
	advancedAuditingPlanID   = "2f442157-a11c-46b9-ae5b-6e39ff4e5849"
	advancedAuditingPlanName = "M365_ADVANCED_AUDITING"
)

// advancedAuditingDisabled finds users whose Advanced Auditing (Audit
// Premium, the MailItemsAccessed source) is switched off: by licence state,
// and by licence-change events in the audit log.
type advancedAuditingDisabled struct{}

func newAdvancedAuditingDisabled() Detector { return advancedAuditingDisabled{} }

func (advancedAuditingDisabled) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "audit.advanced-auditing-disabled",
		Title: "Advanced Auditing disabled for a user",
		Description: "The user's licences that include Microsoft 365 Advanced Auditing have that plan disabled, " +
			"or an audit event shows it being disabled. Without it MailItemsAccessed is not recorded, " +
			"which APT29 relied on to read mail unseen.",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1562.008"},
		Sources:  []tenant.Source{tenant.SourceUsers, tenant.SourceSubscribedSkus},
	}
}

// isAuditPlan reports whether a disabled-plan entry names Advanced Auditing
// (by id or by name).
func isAuditPlan(p string) bool {
	p = strings.TrimSpace(p)
	return strings.EqualFold(p, advancedAuditingPlanID) || strings.EqualFold(p, advancedAuditingPlanName)
}

func auditPlanDisabledIn(plans []string) bool { return slices.ContainsFunc(plans, isAuditPlan) }

// auditState is a user's Advanced Auditing licence state.
type auditState struct {
	held     []string // SKUs held that include the plan (part number, else id)
	disabled bool     // held is not empty and every held SKU disables the plan
}

func userAuditState(u *tenant.User, auditSKUs map[string]tenant.SKU) auditState {
	var st auditState
	off := 0
	for _, l := range u.Licenses {
		sku, ok := auditSKUs[lowerID(l.SkuID)]
		if !ok {
			continue
		}
		st.held = append(st.held, cmp.Or(sku.SkuPartNumber, sku.SkuID))
		if auditPlanDisabledIn(l.DisabledPlans) {
			off++
		}
	}
	st.disabled = len(st.held) > 0 && off == len(st.held)
	return st
}

// auditDisableChange reports what in one user's licence change disables
// Advanced Auditing: the SKUs whose AssignedLicense newly lists the plan as
// disabled, and the properties that show it (AssignedLicense; AssignedPlan
// when the plan goes from enabled to present but not enabled).
func auditDisableChange(c audit.LicenceChange) (skus, via []string) {
	if p := c.AssignedLicense; p != nil {
		for _, nl := range p.New {
			if !auditPlanDisabledIn(nl.DisabledPlans) {
				continue
			}
			wasOff := false
			for _, ol := range p.Old {
				if sameSKU(ol, nl) && auditPlanDisabledIn(ol.DisabledPlans) {
					wasOff = true
				}
			}
			if !wasOff {
				skus = append(skus, skuLabel(nl))
			}
		}
		if len(skus) > 0 {
			via = append(via, p.Property)
		}
	}
	if p := c.AssignedPlan; p != nil {
		oldOn := false
		for _, ps := range p.Old {
			if strings.EqualFold(ps.ID, advancedAuditingPlanID) && ps.Enabled {
				oldOn = true
			}
		}
		newSeen, newOn := false, false
		for _, ps := range p.New {
			if strings.EqualFold(ps.ID, advancedAuditingPlanID) {
				newSeen = true
				newOn = newOn || ps.Enabled
			}
		}
		if oldOn && newSeen && !newOn {
			via = append(via, p.Property)
		}
	}
	return skus, via
}

func sameSKU(a, b audit.Licence) bool {
	if a.SkuID != "" && b.SkuID != "" {
		return strings.EqualFold(a.SkuID, b.SkuID)
	}
	return a.SkuName != "" && strings.EqualFold(a.SkuName, b.SkuName)
}

func skuLabel(l audit.Licence) string {
	switch {
	case l.SkuName != "" && l.SkuID != "":
		return l.SkuName + " (" + l.SkuID + ")"
	case l.SkuName != "":
		return l.SkuName
	}
	return l.SkuID
}

func (d advancedAuditingDisabled) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	s := in.Snapshot
	auditSKUs := make(map[string]tenant.SKU)
	for _, sku := range s.SKUs {
		for _, p := range sku.ServicePlans {
			if strings.EqualFold(strings.TrimSpace(p.ID), advancedAuditingPlanID) {
				auditSKUs[lowerID(sku.SkuID)] = sku
			}
		}
	}

	type hit struct {
		subject tenant.Subject
		upn     string
		state   []string // SKUs with the plan disabled, when the state shows it
		events  []map[string]string
		first   time.Time
	}
	hits := make(map[string]*hit)
	get := func(id string, subject tenant.Subject) *hit {
		k := lowerID(id)
		if h := hits[k]; h != nil {
			return h
		}
		h := &hit{subject: subject}
		hits[k] = h
		return h
	}

	for i := range s.Users {
		u := &s.Users[i]
		if !u.AccountEnabled || u.ID == "" {
			continue
		}
		if st := userAuditState(u, auditSKUs); st.disabled {
			h := get(u.ID, userSubject(u))
			h.state, h.upn = st.held, u.UPN
		}
	}

	addEvent := func(c audit.LicenceChange) {
		skus, via := auditDisableChange(c)
		if len(via) == 0 {
			return
		}
		e, t := c.Record, c.User
		id := strings.TrimSpace(t.ID)
		subject, upn := tenant.Subject{Type: tenant.SubjectUser, ID: id, Name: cmp.Or(t.UPN, t.DisplayName, id)}, t.UPN
		if u := in.User(t.ID); u != nil {
			subject, upn = userSubject(u), u.UPN
		}
		h := get(t.ID, subject)
		h.upn = cmp.Or(h.upn, upn)
		rec := eventRecord(e)
		rec["property"] = strings.Join(via, ", ")
		putString(rec, "skus", strings.Join(skus, ", "))
		if c.Parts > 0 {
			rec["reassembledFrom"] = strconv.Itoa(c.Parts) + " split events"
		}
		h.events = append(h.events, rec)
		if h.first.IsZero() || e.Time.Before(h.first) {
			h.first = e.Time
		}
	}
	if s.Available(tenant.SourceDirectoryAudits) {
		for _, c := range audit.LicenceChanges(in.audits()) {
			addEvent(c)
		}
	}

	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		ev := map[string]any{}
		var sources []string
		if h.state != nil {
			sources = append(sources, "licenceState")
			ev["disabledOnSkus"] = h.state
		}
		if len(h.events) > 0 {
			sources = append(sources, "auditLog")
			slices.SortStableFunc(h.events, func(a, b map[string]string) int { return strings.Compare(a["time"], b["time"]) })
			ev["events"] = h.events
			if u := in.User(h.subject.ID); u != nil && h.state == nil {
				st := userAuditState(u, auditSKUs)
				ev["currentlyDisabled"] = st.disabled
				ev["accountEnabled"] = u.AccountEnabled
			}
		}
		ev["sources"] = sources
		putAny(ev, "userPrincipalName", h.upn)
		out = append(out, tenant.Finding{
			Subject:    h.subject,
			Evidence:   ev,
			Key:        findingKey(d.Rule().ID, h.subject.ID),
			ObservedAt: h.first, // zero (the run's time) when only the state shows it
		})
	}
	return out, nil
}
