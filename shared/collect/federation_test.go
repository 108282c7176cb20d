package collect_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// cert returns a stand-in certificate as Graph sends it: base64 of its
// (DER) bytes.
func cert(name string) string { return base64.StdEncoding.EncodeToString([]byte("DER of " + name)) }

func federated(id, issuer, signing, next string) tenant.Domain {
	return tenant.Domain{ID: id, AuthenticationType: "Federated", IsVerified: true, Federation: []tenant.FederationConfig{{
		ID: "f-" + id, IssuerURI: issuer, SigningCertificate: signing, NextSigningCertificate: next}}}
}

func managed(id string) tenant.Domain {
	return tenant.Domain{ID: id, AuthenticationType: "Managed", IsVerified: true}
}

// TestFederationRound: each sweep's domains against the baseline the
// sweep before stored: the first sweep builds it silently; then a domain
// federated (managed before, or new), an issuer changed and a certificate
// added are changes, and a certificate rollover, a domain that goes back
// to managed or a federated domain read without its configuration are
// none.
func TestFederationRound(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	const adfs, evil = "http://adfs.contoso.example/adfs/services/trust", "http://any.sts/7A1C3E"
	day1 := []tenant.Domain{managed("contoso.example"), federated("fed.contoso.example", adfs, cert("c1"), cert("c2")), managed("old.example")}
	change := func(kind tenant.ChangeKind, domain, value string) tenant.Change {
		return tenant.Change{Kind: kind, ObjectType: tenant.SubjectDomain, ObjectID: domain, Value: value, SeenAt: now}
	}
	steps := []struct {
		name    string
		domains []tenant.Domain
		changes []tenant.Change
		deleted []string
	}{
		{name: "first sweep: the baseline, no change", domains: day1},
		{name: "nothing changed", domains: day1},
		{name: "rollover: the next certificate signs, a new next one", domains: []tenant.Domain{managed("contoso.example"),
			federated("fed.contoso.example", adfs, cert("c2"), ""), managed("old.example")}},
		{name: "a managed domain federated to an unknown issuer; a new federated domain; one removed",
			domains: []tenant.Domain{federated("Contoso.example", evil, cert("evil"), ""), federated("fed.contoso.example", adfs, cert("c2"), ""),
				federated("new.example", evil, cert("evil"), "")},
			changes: []tenant.Change{change(tenant.ChangeDomainFederated, "Contoso.example", evil), change(tenant.ChangeDomainFederated, "new.example", evil)},
			deleted: []string{"old.example"}},
		{name: "the issuer and a second signing certificate changed",
			domains: []tenant.Domain{federated("contoso.example", evil, cert("evil"), ""), federated("fed.contoso.example", evil, cert("c2"), cert("backdoor")),
				federated("new.example", evil, cert("evil"), "")},
			changes: []tenant.Change{change(tenant.ChangeFederationIssuer, "fed.contoso.example", adfs+" -> "+evil),
				change(tenant.ChangeFederationCertificate, "fed.contoso.example", collect.CertificateHash(cert("backdoor")))}},
		{name: "configuration not read: the stored print stands",
			domains: []tenant.Domain{federated("contoso.example", evil, cert("evil"), ""), {ID: "fed.contoso.example", AuthenticationType: "Federated"},
				federated("new.example", evil, cert("evil"), "")}},
		{name: "after it, nothing changed", domains: []tenant.Domain{federated("contoso.example", evil, cert("evil"), ""),
			federated("fed.contoso.example", evil, cert("c2"), cert("backdoor")), federated("new.example", evil, cert("evil"), "")}},
		{name: "back to managed: no change", domains: []tenant.Domain{managed("contoso.example"),
			federated("fed.contoso.example", evil, cert("c2"), cert("backdoor")), federated("new.example", evil, cert("evil"), "")}},
	}
	stored := map[string]state.Baseline{}
	for i, st := range steps {
		u := collect.FederationRound(st.domains, stored, now)
		if u.Install != (i == 0) {
			t.Errorf("%s: install %v", st.name, u.Install)
		}
		if diff := cmp.Diff(st.changes, u.Changes); diff != "" {
			t.Errorf("%s: changes (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.deleted, u.Delete); diff != "" {
			t.Errorf("%s: deleted (-want +got):\n%s", st.name, diff)
		}
		for _, id := range u.Delete {
			delete(stored, id)
		}
		for _, b := range u.Put {
			if b.Type != tenant.SubjectDomain || b.Federation == nil {
				t.Fatalf("%s: baseline %+v", st.name, b)
			}
			stored[b.ID] = b
		}
	}
	if got := stored["fed.contoso.example"].Federation.Certificates; len(got) != 2 {
		t.Errorf("certificates kept %v, want the two of the last read", got)
	}
}

func TestCertificateHash(t *testing.T) {
	t.Parallel()
	// SHA-256 of the DER bytes, whatever the base64's line breaks.
	der := []byte{0x30, 0x82, 0x01, 0x0a}
	b64 := base64.StdEncoding.EncodeToString(der)
	sum := sha256.Sum256(der)
	want := hex.EncodeToString(sum[:])
	for _, in := range []string{b64, b64[:2] + "\r\n" + b64[2:] + " "} {
		if h := collect.CertificateHash(in); h != want {
			t.Errorf("CertificateHash(%q) = %q, want the SHA-256 of the DER bytes %q", in, h, want)
		}
	}
	h := want
	if h == collect.CertificateHash("not base64 at all!") || collect.CertificateHash("  ") != "" {
		t.Error("distinct certificates hash alike, or an empty one hashes")
	}
}
