package audit

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DomainFederationChange is a "Set domain authentication" or "Set
// federation settings on domain" record: a domain made federated (or
// managed again), or the federation trust of a federated domain changed —
// who the tenant trusts to sign its users in. Microsoft's guide to
// monitoring federation changes reads the domain from the first target's
// display name; Microsoft's Sentinel rule "Modified domain federation
// trust settings" reads LiveType ("Managed" → "Federated") on "Set domain
// authentication". The federation properties (IssuerUri,
// SigningCertificate, NextSigningCertificate) are read when a record
// carries them under those names (the names of the federation settings);
// Microsoft documents no record of "Set federation settings on domain"
// with its properties, so a record without them still gives the event.
type DomainFederationChange struct {
	Record tenant.AuditEvent
	// Domain is the first target's display name, else its id, trimmed and
	// lower case; "" when the record has no target.
	Domain string
	// Settings is true for "Set federation settings on domain", false for
	// "Set domain authentication".
	Settings bool
	// LiveType is the domain's authentication type before and after
	// ("Managed", "Federated"); nil when the record does not carry it.
	LiveType *Values
	// IssuerURI is the federation's issuer before and after; nil when not
	// carried.
	IssuerURI *Values
	// SigningCertificate and NextSigningCertificate are the SHA-256 (hex,
	// lower case) of the certificates before and after (see
	// CertificateSHA256): the certificates themselves are never kept.
	SigningCertificate, NextSigningCertificate *Values
}

func (DomainFederationChange) isEvent() {}

// Values is one property's value before and after, as text.
type Values struct {
	Property string
	Old, New string
}

// Federated reports whether the change makes the domain federated:
// LiveType's new value is "Federated".
func (c DomainFederationChange) Federated() bool {
	return c.LiveType != nil && strings.EqualFold(c.LiveType.New, "Federated")
}

// DomainFederationChanges decodes the domain authentication and
// federation records, in order.
func DomainFederationChanges(records []tenant.AuditEvent) []DomainFederationChange {
	return decodeAs[DomainFederationChange](records, familyDomainFederation)
}

func decodeDomainFederation(e tenant.AuditEvent) []Event {
	c := DomainFederationChange{Record: e, Settings: normActivity(e.Activity) == normActivity(actSetFederationSettings)}
	if len(e.Targets) > 0 {
		t := e.Targets[0]
		name := strings.TrimSpace(t.DisplayName)
		if name == "" {
			name = strings.TrimSpace(t.ID)
		}
		c.Domain = strings.ToLower(name)
	}
	text := func(name string) *Values {
		p, ok := eventProp(e, name)
		if !ok {
			return nil
		}
		return &Values{Property: p.Name, Old: valueString(p.Old), New: valueString(p.New)}
	}
	cert := func(name string) *Values {
		v := text(name)
		if v != nil {
			v.Old, v.New = CertificateSHA256(v.Old), CertificateSHA256(v.New)
		}
		return v
	}
	c.LiveType = text("LiveType")
	c.IssuerURI = text("IssuerUri")
	c.SigningCertificate = cert("SigningCertificate")
	c.NextSigningCertificate = cert("NextSigningCertificate")
	return []Event{c}
}

// CertificateSHA256 returns the SHA-256 (hex, lower case) of a certificate
// as Graph and the audit log give it: base64 DER (white space ignored). A
// value that is not base64 is hashed as text. "" gives "".
func CertificateSHA256(cert string) string {
	s := strings.Join(strings.Fields(cert), "")
	if s == "" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b = []byte(s)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
