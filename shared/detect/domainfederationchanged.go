package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// federationChanged finds domains made federated and federation trusts
// changed: who the tenant lets sign its users in.
type federationChanged struct{}

func newFederationChanged() Detector { return federationChanged{} }

func (federationChanged) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "domain.federation-changed",
		Title: "Domain federation set or changed",
		Description: "A domain was made federated (\"Set domain authentication\" to Federated) or its federation trust changed " +
			"(\"Set federation settings on domain\"; the daily sweep's baseline: issuerUri or signing certificate changed, a " +
			"managed domain now federated). Whoever holds the trusted signing key can sign in as any user of the domain, MFA " +
			"included when federatedIdpMfaBehavior accepts the IdP's MFA — the federation backdoor (AADInternals " +
			"ConvertTo-AADIntBackdoor).",
		Severity: tenant.SeverityCritical,
		MITRE:    []string{"T1484.002", "T1606.002"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits},
	}
}

// trust is what a federation change leaves the domain trusting, as far as
// the run knows it.
type trust struct {
	issuer, cert, nextCert string // cert hashes: SHA-256 hex
	config                 *tenant.FederationConfig
}

// currentTrust returns the domain's federation as the snapshot holds it
// (the first federation configuration of a federated domain).
func currentTrust(in *Input, domain string) (trust, *tenant.Domain) {
	for i := range in.Snapshot.Domains {
		d := &in.Snapshot.Domains[i]
		if !strings.EqualFold(strings.TrimSpace(d.ID), domain) {
			continue
		}
		if len(d.Federation) == 0 {
			return trust{}, d
		}
		f := &d.Federation[0]
		return trust{issuer: strings.TrimSpace(f.IssuerURI), cert: audit.CertificateSHA256(f.SigningCertificate),
			nextCert: audit.CertificateSHA256(f.NextSigningCertificate), config: f}, d
	}
	return trust{}, nil
}

// fingerprint names a trust in keys: the first 16 hex digits of the SHA-256
// of its issuer and certificate hash, or "" when neither is known.
func (t trust) fingerprint() string {
	if t.issuer == "" && t.cert == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(t.issuer + "\n" + t.cert))
	return hex.EncodeToString(sum[:])[:16]
}

// federationEvent is one change seen by either path.
type federationEvent struct {
	domain  string
	kind    string // "federated", "settings"
	at      time.Time
	record  *tenant.AuditEvent
	change  *tenant.Change
	known   trust  // what the event itself says of the new trust
	before  trust  // what it says of the old one
	details string // what changed, in words
}

func (d federationChanged) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	var evs []federationEvent
	for _, c := range audit.DomainFederationChanges(in.audits()) {
		if c.Domain == "" {
			continue
		}
		rec := c.Record
		e := federationEvent{domain: c.Domain, at: rec.Time, record: &rec}
		switch {
		case !c.Settings && c.Federated():
			e.kind, e.details = "federated", "authentication changed from "+cmpOr(c.LiveType.Old, "unknown")+" to Federated"
		case !c.Settings && c.LiveType == nil:
			// The record does not say to what: judge by the domain now.
			if _, dom := currentTrust(in, c.Domain); dom == nil || !strings.EqualFold(dom.AuthenticationType, "Federated") {
				continue
			}
			e.kind, e.details = "federated", "domain authentication set; the domain is federated now"
		case !c.Settings:
			continue // made managed: no longer trusts an outside issuer
		default:
			e.kind, e.details = "settings", "federation settings set"
		}
		if c.IssuerURI != nil {
			e.known.issuer, e.before.issuer = c.IssuerURI.New, c.IssuerURI.Old
		}
		if c.SigningCertificate != nil {
			e.known.cert, e.before.cert = c.SigningCertificate.New, c.SigningCertificate.Old
		}
		if c.NextSigningCertificate != nil {
			e.known.nextCert, e.before.nextCert = c.NextSigningCertificate.New, c.NextSigningCertificate.Old
		}
		evs = append(evs, e)
	}
	for i := range in.Snapshot.Changes {
		ch := in.Snapshot.Changes[i]
		if ch.ObjectType != tenant.SubjectDomain || strings.TrimSpace(ch.ObjectID) == "" {
			continue
		}
		e := federationEvent{domain: strings.ToLower(strings.TrimSpace(ch.ObjectID)), at: ch.SeenAt, change: &ch}
		switch ch.Kind {
		case tenant.ChangeDomainFederated:
			e.kind, e.details, e.known.issuer = "federated", "a managed domain is federated (daily baseline)", ch.Value
		case tenant.ChangeFederationIssuer:
			old, nw, _ := strings.Cut(ch.Value, " -> ")
			e.kind, e.details = "settings", "issuerUri changed (daily baseline)"
			e.known.issuer, e.before.issuer = strings.TrimSpace(nw), strings.TrimSpace(old)
		case tenant.ChangeFederationCertificate:
			e.kind, e.details, e.known.cert = "settings", "signing certificate changed (daily baseline)", lowerID(ch.Value)
		default:
			continue
		}
		evs = append(evs, e)
	}

	// A domain made federated in this run: its settings changes are part
	// of the same act (AADInternals' backdoor sets both), one finding.
	federated := make(map[string]bool)
	for _, e := range evs {
		if e.kind == "federated" {
			federated[e.domain] = true
		}
	}
	byKey := make(map[string]*tenant.Finding)
	var order []string
	for _, e := range evs {
		if federated[e.domain] {
			e.kind = "federated"
		}
		now, dom := currentTrust(in, e.domain)
		// The key names the trust the change leaves: the snapshot's
		// current federation when it holds the domain, else what the
		// event says. Both paths then give one key for one change.
		t := e.known
		if now.issuer != "" || now.cert != "" {
			t = now
		}
		disc := e.kind
		if fp := t.fingerprint(); fp != "" && e.kind == "settings" {
			disc += ":" + fp
		} else if e.kind == "settings" && e.record != nil {
			disc += ":" + e.record.ID
		}
		k := findingKey(d.Rule().ID, e.domain, disc)
		f := byKey[k]
		if f == nil {
			ev := map[string]any{"domain": e.domain, "change": e.kind, "sources": []string{}}
			f = &tenant.Finding{Subject: tenant.Subject{Type: tenant.SubjectDomain, ID: e.domain, Name: e.domain}, Evidence: ev, Key: k, ObservedAt: e.at}
			byKey[k] = f
			order = append(order, k)
			if now.config != nil {
				putAny(ev, "federatedIdpMfaBehavior", now.config.FederatedIdpMfaBehavior)
				putAny(ev, "passiveSignInUri", now.config.PassiveSignInURI)
				putAny(ev, "preferredAuthenticationProtocol", now.config.PreferredAuthenticationProtocol)
			}
			if dom != nil {
				putAny(ev, "authenticationType", dom.AuthenticationType)
			}
			if !in.Snapshot.Available(tenant.SourceDomains) {
				ev["domainsChecked"] = false
			}
		}
		ev := f.Evidence
		for k, v := range map[string]string{
			"issuerUri": t.issuer, "signingCertificateSha256": t.cert, "nextSigningCertificateSha256": t.nextCert,
			"previousIssuerUri": e.before.issuer, "previousSigningCertificateSha256": e.before.cert,
		} {
			if _, set := ev[k]; !set {
				putAny(ev, k, v)
			}
		}
		if e.at.Before(f.ObservedAt) {
			f.ObservedAt = e.at
		}
		srcs := ev["sources"].([]string)
		if e.record != nil {
			if _, done := ev["activity"]; !done {
				putEvent(ev, *e.record)
				ev["details"] = e.details
			}
			srcs = appendOnce(srcs, "auditLog")
		}
		if e.change != nil {
			if _, done := ev["baselineChangeSeenAt"]; !done {
				ev["baselineChangeSeenAt"] = ts(e.change.SeenAt)
				if _, ok := ev["details"]; !ok {
					ev["details"] = e.details
				}
			}
			kinds, _ := ev["baselineChanges"].([]string)
			ev["baselineChanges"] = appendOnce(kinds, string(e.change.Kind))
			srcs = appendOnce(srcs, "baselineChange")
		}
		ev["sources"] = srcs
	}
	out := make([]tenant.Finding, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}

func appendOnce(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
