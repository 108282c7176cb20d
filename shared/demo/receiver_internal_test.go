package demo

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/incident"
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

// TestParseIncidentCard reads an incident's first card and a follow-up:
// the incident id, which is which, and the steps each announces.
func TestParseIncidentCard(t *testing.T) {
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	step := func(key, rule, id string) incident.Step {
		return incident.Step{Time: at, Key: key, Rule: rule, Title: rule, Subject: tenant.Subject{Type: tenant.SubjectUser, ID: id, Name: "n"}}
	}
	n := notify.IncidentNote{
		Incident: incident.Incident{ID: "inc-0123456789abcdef", Title: "A → B", Severity: tenant.SeverityHigh,
			Timeline: []incident.Step{step("a", "rule.a", "id-a"), step("b", "rule.b", "id-b")}, Findings: []string{"a", "b"}},
		New: []string{"b"}, Revision: 1,
	}
	for _, tc := range []struct {
		name     string
		build    func(notify.IncidentNote, *notify.CardOptions) ([]byte, error)
		followUp bool
		steps    []CardStep
	}{
		{"first card", notify.IncidentCard, false, []CardStep{{"rule.a", "id-a", false}, {"rule.b", "id-b", true}}},
		{"follow-up", notify.FollowUpCard, true, []CardStep{{"rule.b", "id-b", true}}},
	} {
		b, err := tc.build(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCard(b)
		if err != nil {
			t.Fatal(err)
		}
		if c.Incident != "inc-0123456789abcdef" || c.FollowUp != tc.followUp || c.Digest || c.Rule != "" {
			t.Errorf("%s: incident %q, follow-up %v, digest %v, rule %q", tc.name, c.Incident, c.FollowUp, c.Digest, c.Rule)
		}
		if diff := cmp.Diff(tc.steps, c.Steps); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", tc.name, diff)
		}
		if !c.Announces("rule.b", "ID-B") {
			t.Errorf("%s: the step it announces does not count as alerted", tc.name)
		}
		if c.Announces("rule.a", "id-a") {
			t.Errorf("%s: a step the card does not announce counts as alerted", tc.name)
		}
	}
}
