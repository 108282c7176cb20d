package detect

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// consentMailScopes finds delegated consents that give an app mail, for
// every user or for many.
type consentMailScopes struct{}

func newConsentMailScopes() Detector { return consentMailScopes{} }

func (consentMailScopes) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "app.consent-mail-scopes",
		Title: "Delegated mail permissions consented for every user or many",
		Description: "A \"Consent to application\" or \"Add delegated permission grant\" record gave an app delegated mail scopes " +
			"(Mail.*, MailboxSettings.*, EWS.AccessAsUser.All, full_access_as_user, IMAP/POP.AccessAsUser.All, SMTP.Send; " +
			"offline_access alone is not mail) tenant-wide (ConsentContext.OnBehalfOfAll, consent type AllPrincipals) or, " +
			"user by user, for at least ConsentUsers users (default 5) in the window. High; critical when a consenting account " +
			"was created in the 7 days before; one step higher when user consents are part of it and the authorization policy " +
			"lets users consent (posture.user-consent-allowed's predicate).",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1528", "T1098.003"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceUsers},
	}
}

// consentPart is one consent or grant record with mail scopes.
type consentPart struct {
	client     appObject
	matchedBy  string
	record     tenant.AuditEvent
	tenantWide bool
	admin      *bool  // ConsentContext.IsAdminConsent; nil for grant records
	consenter  string // the user the grant is for, else who consented (user id)
	scopes     []string
	consent    string // consent type as the record gives it
	// resourceUnverified: the record's resource is not in the snapshot,
	// so the scopes may be another API's homonyms.
	resourceUnverified bool
}

// mailResourceOf reports whether a resource service principal is Graph or
// Exchange Online: known (true or false) from the snapshot, else from the
// names the record gives (TargetId.ServicePrincipalNames); ok is false
// when nothing tells.
func mailResourceOf(in *Input, objectID string, names []string) (mail, ok bool) {
	if sp := in.ServicePrincipal(objectID); sp != nil && strings.TrimSpace(objectID) != "" {
		return tenant.IsMailResource(strings.TrimSpace(sp.AppID)), true
	}
	for _, n := range names {
		if tenant.IsMailResource(n) {
			return true, true
		}
	}
	return false, false
}

func consentParts(in *Input) []consentPart {
	var parts []consentPart
	for _, c := range audit.Consents(in.audits()) {
		old := make(map[string]bool)
		for _, e := range c.Old {
			for _, s := range e.Scopes {
				old[strings.ToLower(s)] = true
			}
		}
		for _, e := range c.New {
			var added []string
			for _, s := range e.Scopes {
				if !old[strings.ToLower(s)] {
					added = append(added, s)
				}
			}
			mail := mailScopes(added)
			if len(mail) == 0 {
				continue
			}
			isMail, known := mailResourceOf(in, e.ResourceID, nil)
			if known && !isMail {
				continue // another API's scopes that happen to be called Mail.*
			}
			wide := strings.EqualFold(e.ConsentType, "AllPrincipals") || (c.OnBehalfOfAll != nil && *c.OnBehalfOfAll) ||
				(c.OnBehalfOfAll == nil && c.AdminConsent != nil && *c.AdminConsent && !strings.EqualFold(e.ConsentType, "Principal"))
			parts = append(parts, consentPart{
				client: resolveAppObject(in, c.Object), matchedBy: "objectId", record: c.Record, tenantWide: wide,
				admin: c.AdminConsent, consenter: cmp.Or(lowerID(e.PrincipalID), lowerID(c.Record.Initiator.UserID)),
				scopes: mail, consent: e.ConsentType, resourceUnverified: !known,
			})
		}
	}
	for _, g := range audit.DelegatedGrantsAdded(in.audits()) {
		mail := mailScopes(g.AddedScopes())
		if len(mail) == 0 {
			continue
		}
		isMail, known := mailResourceOf(in, g.ResourceID, g.ResourceNames)
		if known && !isMail {
			continue
		}
		client, by, ok := clientOf(in, g.Client)
		if !ok {
			continue
		}
		parts = append(parts, consentPart{
			client: client, matchedBy: by, record: g.Record, tenantWide: strings.EqualFold(g.ConsentType, "AllPrincipals"),
			consenter: lowerID(g.Record.Initiator.UserID), scopes: mail, consent: g.ConsentType, resourceUnverified: !known,
		})
	}
	return parts
}

// clientKey is the key part naming a client: its object id, else what the
// record gave (see app.mail-permission-granted).
func clientKey(o appObject) string {
	switch {
	case o.resolved():
		return o.ID
	case o.AppID != "":
		return "appId=" + o.AppID
	default:
		return "displayName=" + nameHash(o.Name)
	}
}

func (d consentMailScopes) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	cfg := in.Config.withDefaults()
	posture := consentPostureOf(in.Snapshot.AuthorizationPolicy)
	type group struct {
		client appObject
		by     string
		parts  []consentPart
	}
	groups := make(map[string]*group)
	var order []string
	for _, p := range consentParts(in) {
		kind := "users"
		if p.tenantWide {
			kind = "tenant-wide"
		}
		k := findingKey(d.Rule().ID, clientKey(p.client), kind)
		g := groups[k]
		if g == nil {
			g = &group{client: p.client, by: p.matchedBy}
			groups[k] = g
			order = append(order, k)
		}
		if !g.client.resolved() && p.client.resolved() {
			g.client, g.by = p.client, p.matchedBy
		}
		g.parts = append(g.parts, p)
	}

	var out []tenant.Finding
	for _, k := range order {
		g := groups[k]
		wide := g.parts[0].tenantWide
		consenters := make(map[string]bool)
		var scopes []string
		var records []map[string]any
		var critical []string
		userConsent, unverified := false, false
		for _, p := range g.parts {
			if p.consenter != "" {
				consenters[p.consenter] = true
			}
			scopes = append(scopes, p.scopes...)
			if p.admin != nil && !*p.admin {
				userConsent = true
			}
			unverified = unverified || p.resourceUnverified
			r := map[string]any{"scopes": p.scopes}
			for k, v := range eventRecord(p.record) {
				r[k] = v
			}
			putAny(r, "consentType", p.consent)
			if p.admin != nil {
				r["adminConsent"] = *p.admin
			}
			if len(records) < maxListed {
				records = append(records, r)
			}
			if u := in.User(p.record.Initiator.UserID); u != nil && !u.Created.IsZero() {
				if age := p.record.Time.Sub(u.Created); age >= 0 && age <= cfg.ConsentNewAccountWithin {
					critical = append(critical, u.Name()+" consented "+age.Round(time.Hour).String()+" after the account was created ("+ts(u.Created)+")")
				}
			}
		}
		if !wide && len(consenters) < cfg.ConsentUsers {
			continue
		}
		slices.SortFunc(scopes, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		scopes = slices.CompactFunc(scopes, strings.EqualFold)
		ev := map[string]any{
			"mailScopes": scopes,
			"tenantWide": wide,
			"consents":   records,
			"userCount":  len(consenters),
		}
		if !wide {
			ev["userThreshold"] = cfg.ConsentUsers
		}
		g.client.putIdentity(ev)
		if g.by == "displayName" && g.client.resolved() {
			ev["clientMatchedBy"] = "displayName"
		}
		if unverified {
			ev["resourceVerified"] = false // the resource is not in the snapshot: the record's names did not say Graph or Exchange
		}
		f := tenant.Finding{Subject: g.client.subject(), Evidence: ev, Key: k, ObservedAt: g.parts[len(g.parts)-1].record.Time}
		f.Severity = tenant.SeverityHigh
		if len(critical) > 0 {
			f.Severity = tenant.SeverityCritical
			ev["criticalBecause"] = capStrings(critical)
		}
		switch {
		case !posture.Read:
			ev["userConsentPolicyChecked"] = false
		case userConsent && posture.usersMayConsent():
			f.Severity = raise(f.Severity)
			ev["raisedBecause"] = "users may consent to apps under " + strings.Join(posture.Broad, ", ") + " (posture.user-consent-allowed)"
		}
		out = append(out, f)
	}
	return out, nil
}
