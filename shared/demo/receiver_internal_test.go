package demo

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestParseCard reads the cards the notify package builds: the receiver
// must find the title, subject, rule and object id of a finding card, and
// tell a digest.
func TestParseCard(t *testing.T) {
	f := tenant.Finding{
		Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added",
		Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "aaaaaaaa-0000-0000-0000-000000000001", Name: "**Backup** <b>"},
		Evidence: map[string]any{"Rule": "not the rule"},
		Key:      "k",
	}
	b, err := notify.FindingCard(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCard(b)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Title, c.Subject, c.Rule, c.ObjectID}
	want := []string{"High: Credential added", "**Backup** <b>", "sp.credential-added", "aaaaaaaa-0000-0000-0000-000000000001"}
	if diff := cmp.Diff(want, got); diff != "" || c.Digest {
		t.Errorf("finding card (-want +got):\n%s digest=%v", diff, c.Digest)
	}

	b, err = notify.DigestCard(notify.Digest{Title: "Posture digest", Generated: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Findings: []tenant.Finding{f}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = parseCard(b); err != nil {
		t.Fatal(err)
	}
	wantLines := []string{
		"Generated 2024-05-01 00:00:00 UTC",
		"Findings: 1 (0 critical, 1 high, 0 medium, 0 low, 0 info)",
		"High Credential added — **Backup** <b> (servicePrincipal)",
	}
	if diff := cmp.Diff(wantLines, c.Lines); diff != "" || !c.Digest || c.Title != "Posture digest" {
		t.Errorf("digest %q (-want +got lines):\n%s digest=%v", c.Title, diff, c.Digest)
	}
}
