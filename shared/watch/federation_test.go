package watch_test

import (
	"context"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/collect"
	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// withDomains is the app's reader with the tenant's domains set by the
// test in the sweep's snapshot: the read of /domains and their
// federationConfiguration is collect.Snapshot's (the reads of issue 12),
// not the sweep's; what the sweep does with them is under test.
type withDomains struct {
	watch.TenantReader
	mu      sync.Mutex
	domains []tenant.Domain
}

func (w *withDomains) Set(ds ...tenant.Domain) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.domains = ds
}

func (w *withDomains) Snapshot(ctx context.Context, opts *collect.SnapshotOptions) (*tenant.Snapshot, error) {
	s, err := w.TenantReader.Snapshot(ctx, opts)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s.Domains = append([]tenant.Domain(nil), w.domains...)
	delete(s.Unavailable, tenant.SourceDomains)
	return s, nil
}

// changeSeer remembers the domain changes each run was given.
type changeSeer struct {
	mu   sync.Mutex
	runs [][]tenant.Change
}

func (d *changeSeer) Rule() tenant.Rule {
	return tenant.Rule{ID: "test.domains", Title: "Domain changes", Severity: tenant.SeverityLow, Sources: []tenant.Source{tenant.SourceDomains}}
}

func (d *changeSeer) Detect(_ context.Context, in *detect.Input) ([]tenant.Finding, error) {
	var out []tenant.Change
	for _, c := range in.Snapshot.Changes {
		if c.ObjectType == tenant.SubjectDomain {
			out = append(out, c)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runs = append(d.runs, out)
	return nil, nil
}

func (d *changeSeer) Last() ([]tenant.Change, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.runs) == 0 {
		return nil, 0
	}
	return d.runs[len(d.runs)-1], len(d.runs)
}

// TestDailySweepFederationBaseline: the first sweep stores each domain's
// federation fingerprint in Table Storage and reports no change; a later
// sweep hands the rules a domain federated, an issuer changed and a
// signing certificate added, once; the sweep after it nothing.
func TestDailySweepFederationBaseline(t *testing.T) {
	t.Parallel()
	var reader *withDomains
	d := &changeSeer{}
	e := newEnv(t, envOptions{NoWebhooks: true, Detectors: []detect.Detector{d}, Tenant: func(r watch.TenantReader) watch.TenantReader {
		reader = &withDomains{TenantReader: r}
		return reader
	}})
	ctx := t.Context()
	cert := func(s string) string { return base64.StdEncoding.EncodeToString([]byte("DER " + s)) }
	fed := func(id, issuer string, certs ...string) tenant.Domain {
		c := tenant.FederationConfig{ID: "f", IssuerURI: issuer, SigningCertificate: certs[0]}
		if len(certs) > 1 {
			c.NextSigningCertificate = certs[1]
		}
		return tenant.Domain{ID: id, AuthenticationType: "Federated", IsVerified: true, Federation: []tenant.FederationConfig{c}}
	}
	const adfs, evil = "http://adfs.northbridge-policy.org/adfs/services/trust", "http://any.sts/B1F3"
	days := []struct {
		name    string
		domains []tenant.Domain
		want    []tenant.Change
	}{
		{name: "first sweep", domains: []tenant.Domain{{ID: "northbridge-policy.org", AuthenticationType: "Managed"}, fed("corp.northbridge-policy.org", adfs, cert("a"))}},
		{name: "federated, issuer and certificate changed",
			domains: []tenant.Domain{fed("northbridge-policy.org", evil, cert("evil")), fed("corp.northbridge-policy.org", evil, cert("a"), cert("backdoor"))},
			want: []tenant.Change{
				{Kind: tenant.ChangeDomainFederated, ObjectType: tenant.SubjectDomain, ObjectID: "northbridge-policy.org", Value: evil},
				{Kind: tenant.ChangeFederationIssuer, ObjectType: tenant.SubjectDomain, ObjectID: "corp.northbridge-policy.org", Value: adfs + " -> " + evil},
				{Kind: tenant.ChangeFederationCertificate, ObjectType: tenant.SubjectDomain, ObjectID: "corp.northbridge-policy.org",
					Value: collect.CertificateHash(cert("backdoor"))},
			}},
		{name: "unchanged", domains: []tenant.Domain{fed("northbridge-policy.org", evil, cert("evil")), fed("corp.northbridge-policy.org", evil, cert("a"), cert("backdoor"))}},
	}
	for i, day := range days {
		if i > 0 {
			e.clk.Advance(24 * time.Hour)
		}
		reader.Set(day.domains...)
		e.must(day.name+": DailySweep", e.app.DailySweep(ctx))
		got, runs := d.Last()
		if runs != i+1 {
			t.Fatalf("%s: the rules ran %d times in %d sweeps", day.name, runs, i+1)
		}
		if diff := cmp.Diff(day.want, got, cmpopts.IgnoreFields(tenant.Change{}, "SeenAt"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: domain changes (-want +got):\n%s", day.name, diff)
		}
		stored, err := e.st.BaselinesByID(ctx, tenant.SubjectDomain, []string{"northbridge-policy.org", "corp.northbridge-policy.org"})
		e.must("domain baselines", err)
		if len(stored) != 2 || stored["northbridge-policy.org"].Federation == nil ||
			stored["northbridge-policy.org"].Federation.AuthenticationType != day.domains[0].AuthenticationType {
			t.Errorf("%s: stored domain baselines %+v", day.name, stored)
		}
	}
}
