package collect

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The federation baseline of the daily sweep (issue 12): Graph sends no
// change notification for domains and has no delta query for their
// federation, so each sweep compares every domain's federation fingerprint
// (state.FederationPrint) with the one stored by the sweep before, and
// turns what changed into tenant.Change values (ObjectType
// tenant.SubjectDomain, ObjectID the domain name) that
// domain.federation-changed reads. The first sweep stores the baseline and
// reports nothing.

// FederationUpdate is what comparing the domains with the stored baseline
// found. The caller stores Put and Delete once the findings are recorded.
type FederationUpdate struct {
	// Install: no domain baseline was stored; this sweep builds it and
	// reports no change.
	Install bool
	Changes []tenant.Change
	Put     []state.Baseline
	Delete  []string // lower-case domain names no longer in the tenant
}

// Federation compares s.Domains with the stored domain baselines and adds
// the changes to s.Changes. A snapshot whose domains were not read (the
// source unavailable, or no domain at all: every tenant has its initial
// domain) compares nothing and leaves the baseline as it is.
func (c *Rounds) Federation(ctx context.Context, s *tenant.Snapshot) (*FederationUpdate, error) {
	if !s.Available(tenant.SourceDomains) || len(s.Domains) == 0 {
		return &FederationUpdate{}, nil
	}
	stored := make(map[string]state.Baseline)
	err := c.st.Baselines(ctx, tenant.SubjectDomain, func(b state.Baseline) error {
		stored[strings.ToLower(b.ID)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collect: domain baselines: %w", err)
	}
	u := FederationRound(s.Domains, stored, s.CollectedAt)
	s.Changes = append(s.Changes, u.Changes...)
	return u, nil
}

// FederationRound compares domains with the stored baselines (by
// lower-case domain name) at now. A domain that becomes federated (managed
// before, or new) is a ChangeDomainFederated; a federated domain's issuer
// that differs is a ChangeFederationIssuer; a signing or next signing
// certificate not in the baseline is a ChangeFederationCertificate (a
// rollover, the next certificate becoming the signing one, is none). A
// federated domain read without its federation configuration keeps the
// stored issuers and certificates.
func FederationRound(domains []tenant.Domain, stored map[string]state.Baseline, now time.Time) *FederationUpdate {
	u := &FederationUpdate{Install: len(stored) == 0}
	seen := make(map[string]bool, len(domains))
	for _, d := range domains {
		id := strings.ToLower(strings.TrimSpace(d.ID))
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		p := FederationPrintOf(d)
		old, had := stored[id]
		if isFederated(p.AuthenticationType) && len(d.Federation) == 0 && had && old.Federation != nil {
			p.Issuers, p.Certificates = old.Federation.Issuers, old.Federation.Certificates
		}
		u.Put = append(u.Put, state.Baseline{Type: tenant.SubjectDomain, ID: id, Name: d.ID, Federation: &p})
		if u.Install || !isFederated(p.AuthenticationType) {
			continue
		}
		change := func(kind tenant.ChangeKind, value string) {
			u.Changes = append(u.Changes, tenant.Change{Kind: kind, ObjectType: tenant.SubjectDomain, ObjectID: d.ID, Value: value, SeenAt: now})
		}
		var was state.FederationPrint
		if had && old.Federation != nil {
			was = *old.Federation
		}
		if !isFederated(was.AuthenticationType) {
			change(tenant.ChangeDomainFederated, strings.Join(p.Issuers, " "))
			continue
		}
		if len(d.Federation) == 0 {
			continue
		}
		if !slices.Equal(was.Issuers, p.Issuers) {
			change(tenant.ChangeFederationIssuer, strings.Join(was.Issuers, " ")+" -> "+strings.Join(p.Issuers, " "))
		}
		for _, h := range p.Certificates {
			if !slices.Contains(was.Certificates, h) {
				change(tenant.ChangeFederationCertificate, h)
			}
		}
	}
	for id := range stored {
		if !seen[id] {
			u.Delete = append(u.Delete, id)
		}
	}
	slices.Sort(u.Delete)
	return u
}

func isFederated(authType string) bool {
	return strings.EqualFold(strings.TrimSpace(authType), "Federated")
}

// FederationPrintOf returns the fingerprint of d: its authenticationType,
// its configurations' issuers and certificate hashes, sorted, without
// duplicates or empties.
func FederationPrintOf(d tenant.Domain) state.FederationPrint {
	p := state.FederationPrint{AuthenticationType: strings.TrimSpace(d.AuthenticationType)}
	for _, f := range d.Federation {
		if iss := strings.TrimSpace(f.IssuerURI); iss != "" {
			p.Issuers = append(p.Issuers, iss)
		}
		for _, cert := range []string{f.SigningCertificate, f.NextSigningCertificate} {
			if h := CertificateHash(cert); h != "" {
				p.Certificates = append(p.Certificates, h)
			}
		}
	}
	slices.Sort(p.Issuers)
	p.Issuers = slices.Compact(p.Issuers)
	slices.Sort(p.Certificates)
	p.Certificates = slices.Compact(p.Certificates)
	return p
}

// CertificateHash returns the SHA-256 (hex, lower case) of a certificate as
// Graph returns it (base64 of the DER bytes; whitespace ignored); a value
// that is not base64 is hashed as it is. "" for none.
func CertificateHash(cert string) string {
	cert = strings.Join(strings.Fields(cert), "")
	if cert == "" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(cert)
	if err != nil {
		b = []byte(cert)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
