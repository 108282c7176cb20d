package notify_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// sampleIncident is a takeover chain of three findings with hostile names.
func sampleIncident() notify.IncidentNote {
	step := func(min int, key, rule, title string, typ tenant.SubjectType, id, name string, posture bool) incident.Step {
		return incident.Step{Time: observed.Add(time.Duration(min) * time.Minute), Key: key, Rule: rule, Title: title,
			Subject: tenant.Subject{Type: typ, ID: id, Name: name}, Posture: posture}
	}
	inc := incident.Incident{
		ID:         "inc-37fdf08463667eb7",
		Title:      "MFA registered on a dormant account → Sign-in from Azure address space " + hBold + " → Credential added to a service principal or application",
		Severity:   tenant.SeverityCritical,
		Raised:     true,
		Techniques: []string{"T1078.004", "T1098.001", "T1556.006"},
		FirstSeen:  observed,
		LastSeen:   observed.Add(90 * time.Minute),
		Timeline: []incident.Step{
			step(0, "mfa.dormant-registration:u1", "mfa.dormant-registration", "MFA registered on a dormant account", tenant.SubjectUser, "11111111-0000-0000-0000-000000000001", "dormant@contoso.com", false),
			step(30, "signin.azure-ip:u1:203.0.113.9", "signin.azure-ip", "Sign-in from Azure address space "+hBold, tenant.SubjectUser, "11111111-0000-0000-0000-000000000001", "dormant@contoso.com", false),
			step(90, "sp.credential-added:s1:k1", "sp.credential-added", "Credential added to a service principal or application", tenant.SubjectServicePrincipal, "22222222-0000-0000-0000-000000000002", hLink+" "+hScript+" "+hRTL, false),
			step(90, "sp.mail-access:s1", "sp.mail-access", "Service principal can read mail", tenant.SubjectServicePrincipal, "22222222-0000-0000-0000-000000000002", hDate, true),
		},
		Entities: []string{"id:11111111-0000-0000-0000-000000000001", "id:22222222-0000-0000-0000-000000000002", "ip:203.0.113.9", "upn:dormant@contoso.com"},
		Findings: []string{"mfa.dormant-registration:u1", "signin.azure-ip:u1:203.0.113.9", "sp.credential-added:s1:k1", "sp.mail-access:s1"},
	}
	return notify.IncidentNote{
		Incident: inc,
		Severities: map[string]tenant.Severity{
			"mfa.dormant-registration:u1": tenant.SeverityHigh, "signin.azure-ip:u1:203.0.113.9": tenant.SeverityMedium,
			"sp.credential-added:s1:k1": tenant.SeverityHigh, "sp.mail-access:s1": tenant.SeverityMedium,
		},
		New:      []string{"signin.azure-ip:u1:203.0.113.9"},
		Revision: 1,
	}
}

func TestIncidentCardGoldens(t *testing.T) {
	followUp := sampleIncident()
	followUp.New = []string{"sp.credential-added:s1:k1", "sp.mail-access:s1"}
	followUp.Revision = 2
	for _, tc := range []struct {
		name  string
		build func() ([]byte, error)
	}{
		{"incident", func() ([]byte, error) { return notify.IncidentCard(sampleIncident(), hostileOptions()) }},
		{"incident-followup", func() ([]byte, error) { return notify.FollowUpCard(followUp, hostileOptions()) }},
		{"digest-incidents", func() ([]byte, error) { return notify.DigestCard(incidentDigest(), hostileOptions()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > notify.MaxPayloadBytes {
				t.Errorf("payload is %d bytes, over %d", len(b), notify.MaxPayloadBytes)
			}
			for _, p := range cardProblems(b, reportURL) {
				t.Error(p)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".golden.json"), indent(t, b))
		})
	}
}

// TestIncidentCardLarge: an incident of 500 findings with long hostile
// names still fits, shows at most 30 steps and says how many more.
func TestIncidentCardLarge(t *testing.T) {
	n := sampleIncident()
	base := n.Incident.Timeline[2]
	n.Incident.Timeline = nil
	n.Incident.Findings = nil
	n.Incident.Entities = nil
	for i := range 500 {
		s := base
		s.Key = fmt.Sprint("k", i)
		s.Subject.Name = strings.Repeat("😈"+hLink, 40)
		s.Title = strings.Repeat("Credential "+hBold, 20)
		n.Incident.Timeline = append(n.Incident.Timeline, s)
		n.Incident.Findings = append(n.Incident.Findings, s.Key)
		n.Incident.Entities = append(n.Incident.Entities, "upn:"+strings.Repeat("x", 300)+fmt.Sprint(i)+"@contoso.com")
		n.New = append(n.New, s.Key)
	}
	for name, build := range map[string]func(notify.IncidentNote, *notify.CardOptions) ([]byte, error){
		"incident": notify.IncidentCard, "follow-up": notify.FollowUpCard,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := build(n, hostileOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > notify.MaxPayloadBytes {
				t.Fatalf("payload is %d bytes", len(b))
			}
			for _, p := range cardProblems(b, reportURL) {
				t.Error(p)
			}
			steps, more := 0, ""
			for _, l := range bodyLines(t, b) {
				if strings.HasPrefix(l.ID, "step-") {
					steps++
				}
				if strings.HasPrefix(l.Text, "and ") {
					more = l.Text
				}
			}
			if steps == 0 || steps > 30 {
				t.Errorf("%d steps shown, want 1 to 30", steps)
			}
			if want := fmt.Sprintf("and %d more steps — see the report", 500-steps); more != want {
				t.Errorf("more line = %q, want %q", more, want)
			}
		})
	}
}

// TestFollowUpCardListsOnlyNewSteps: a follow-up names the incident and
// lists the steps it announces, not the ones the incident's earlier cards
// showed.
func TestFollowUpCardListsOnlyNewSteps(t *testing.T) {
	n := sampleIncident()
	n.New = []string{"sp.credential-added:s1:k1"}
	n.Revision = 3
	b, err := notify.FollowUpCard(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids, refs []string
	for _, l := range bodyLines(t, b) {
		switch {
		case l.ID == "title":
			if !strings.HasPrefix(l.Text, "Incident update: MFA registered on a dormant account →") {
				t.Errorf("title = %q", l.Text)
			}
		case l.ID == "incident":
			ids = append(ids, l.Text)
		case strings.HasPrefix(l.ID, "stepref-"):
			refs = append(refs, l.Text)
		}
	}
	if len(ids) != 1 || ids[0] != "Incident: inc-37fdf08463667eb7" {
		t.Errorf("incident lines = %q", ids)
	}
	if want := "Rule: sp.credential-added · Object ID: 22222222-0000-0000-0000-000000000002"; len(refs) != 1 || refs[0] != want {
		t.Errorf("step refs = %q, want [%q]", refs, want)
	}
}

// incidentDigest is sampleDigest with an incident that holds two of its
// findings (and two others the digest does not list).
func incidentDigest() notify.Digest {
	d := sampleDigest()
	d.Skipped = nil
	inc := sampleIncident().Incident
	inc.Findings = append(inc.Findings, d.Findings[2].Key, d.Findings[3].Key)
	d.Incidents = []incident.Incident{inc}
	return d
}

// TestDigestGroupsByIncident: the findings an incident holds are one line
// of it, not lines of their own; the others are listed as before and the
// counts still count every finding.
func TestDigestGroupsByIncident(t *testing.T) {
	b, err := notify.DigestCard(incidentDigest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	all, texts := digestLines(t, b)
	var lines []string // finding lines, the incident's left out
	for _, l := range all {
		if !strings.Contains(l, " — inc-") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 4 {
		t.Errorf("%d finding lines, want the 4 the incident does not hold: %q", len(lines), lines)
	}
	var incidents []string
	for _, l := range bodyLines(t, b) {
		if strings.HasPrefix(l.ID, "incident-") {
			incidents = append(incidents, l.Text)
		}
	}
	want := "Critical MFA registered on a dormant account → Sign-in from Azure address space **bold** → Credential added to a service principal or application — inc-37fdf08463667eb7, 6 findings, 2 of them here"
	if len(incidents) != 1 || incidents[0] != want {
		t.Errorf("incident lines %q, want [%q]", incidents, want)
	}
	if !contains(texts, "Findings: 6 (1 critical, 1 high, 2 medium, 1 low, 1 info)") {
		t.Errorf("texts %q: the counts changed", texts)
	}
}

// TestIncidentCardKeepsNewSteps: when not every step fits, the steps the
// card announces are shown, in time order with the earliest others.
func TestIncidentCardKeepsNewSteps(t *testing.T) {
	n := sampleIncident()
	base := n.Incident.Timeline[2]
	n.Incident.Timeline = nil
	for i := range 100 {
		s := base
		s.Key = fmt.Sprint("k", i)
		s.Time = observed.Add(time.Duration(i) * time.Minute)
		s.Rule = fmt.Sprintf("rule.%03d", i)
		s.Subject.Name = strings.Repeat("x", 150)
		n.Incident.Timeline = append(n.Incident.Timeline, s)
	}
	n.New = []string{"k99", "k50"}
	b, err := notify.IncidentCard(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, l := range bodyLines(t, b) {
		if strings.HasPrefix(l.ID, "stepref-") {
			refs = append(refs, strings.Fields(l.Text)[1])
		}
	}
	if len(refs) < 3 || len(refs) >= 100 {
		t.Fatalf("%d steps shown, want some but not all: %q", len(refs), refs)
	}
	want := []string{"rule.000"}
	for i := 1; i < len(refs)-2; i++ {
		want = append(want, fmt.Sprintf("rule.%03d", i))
	}
	want = append(want, "rule.050", "rule.099")
	if strings.Join(refs, " ") != strings.Join(want, " ") {
		t.Errorf("steps shown %q, want %q: the new ones kept, the earliest others, in time order", refs, want)
	}
}

// TestIncidentCardEntities: entities are cleaned like every tenant string;
// one that cleans to nothing is left out, not shown as an empty item.
func TestIncidentCardEntities(t *testing.T) {
	n := sampleIncident()
	n.Incident.Entities = []string{"\u200b\u202e", "id:11111111-0000-0000-0000-000000000001", "upn:" + hRTL + "@contoso.com"}
	b, err := notify.IncidentCard(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range bodyLines(t, b) {
		if l.ID == "entities" || strings.HasPrefix(l.Text, "Entities (") {
			got = append(got, l.Text)
		}
	}
	want := []string{"Entities (2)", "id:11111111-0000-0000-0000-000000000001, upn:invoicegpj.exe@contoso.com"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("entities %q, want %q", got, want)
	}
}

// FuzzIncidentCard: whatever the tenant strings and the number of steps,
// an incident card and a follow-up are valid JSON under the size limit,
// TextRuns only, with no link but the report's.
func FuzzIncidentCard(f *testing.F) {
	f.Add("Credential added", "Mail Archiver", "id:1", uint16(3), uint16(1))
	f.Add(hLink+hBold, hScript+hRTL+hLong, hDate, uint16(400), uint16(399))
	f.Add("", "", "", uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, title, name, entity string, steps, newAt uint16) {
		n := notify.IncidentNote{Incident: incident.Incident{ID: "inc-" + entity, Title: title + " → " + name, Severity: tenant.Severity(int(steps)%7 - 1),
			Techniques: []string{title, entity}, FirstSeen: observed, LastSeen: observed, Entities: []string{entity, name, title}}, Revision: int(newAt)%3 + 1}
		for i := range int(steps) % 600 {
			k := fmt.Sprint(i)
			n.Incident.Timeline = append(n.Incident.Timeline, incident.Step{Time: observed, Key: k, Rule: title, Title: title,
				Subject: tenant.Subject{Type: tenant.SubjectUser, ID: entity, Name: name}, Posture: i%2 == 0})
			n.Incident.Findings = append(n.Incident.Findings, k)
			if i == int(newAt)%600 {
				n.New = append(n.New, k)
			}
		}
		for _, build := range []func(notify.IncidentNote, *notify.CardOptions) ([]byte, error){notify.IncidentCard, notify.FollowUpCard} {
			b, err := build(n, &notify.CardOptions{ReportURL: reportURL, TenantName: name})
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > notify.MaxPayloadBytes {
				t.Fatalf("payload is %d bytes", len(b))
			}
			for _, p := range cardProblems(b, reportURL) {
				t.Error(p)
			}
		}
	})
}
