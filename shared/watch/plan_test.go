package watch_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
	"github.com/tenantwatch/tenantwatch/shared/watch"
)

// A chain on one user and the app it backdoors: A and B share the user,
// C names the user as its actor, D is on C's service principal.
var (
	chainA = tenant.Finding{Rule: "mfa.dormant-registration", Severity: tenant.SeverityHigh, Title: "MFA registered on a dormant account", MITRE: []string{"T1098.005"},
		Subject: tenant.Subject{Type: tenant.SubjectUser, ID: "u1", Name: "dormant@contoso.com"}, ObservedAt: t0, Key: "mfa.dormant-registration:u1"}
	chainB = tenant.Finding{Rule: "signin.azure-ip", Severity: tenant.SeverityMedium, Title: "Sign-in from Azure", MITRE: []string{"T1078.004"},
		Subject: tenant.Subject{Type: tenant.SubjectUser, ID: "u1", Name: "dormant@contoso.com"}, ObservedAt: t0.Add(time.Hour), Key: "signin.azure-ip:u1"}
	chainC = tenant.Finding{Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added", MITRE: []string{"T1098.001"},
		Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "s1", Name: "Mail Archiver"},
		Evidence: map[string]any{"actorId": "u1"}, ObservedAt: t0.Add(2 * time.Hour), Key: "sp.credential-added:s1:k1"}
	chainD = tenant.Finding{Rule: "mail.app-collection", Severity: tenant.SeverityHigh, Title: "App read mail", MITRE: []string{"T1114.002"},
		Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "s1", Name: "Mail Archiver"}, ObservedAt: t0.Add(3 * time.Hour), Key: "mail.app-collection:s1"}
	// lone shares nothing with the chain.
	lone = tenant.Finding{Rule: "sp.reply-url-added", Severity: tenant.SeverityHigh, Title: "Reply URL added",
		Subject: tenant.Subject{Type: tenant.SubjectApplication, ID: "a9", Name: "Other"}, ObservedAt: t0, Key: "sp.reply-url-added:a9"}
)

func keys(fs ...tenant.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}

// chainID is the id Correlate gives an incident anchored at f.
func chainID(t *testing.T, fs ...tenant.Finding) string {
	t.Helper()
	incs := incident.Correlate(fs, nil)
	if len(incs) != 1 {
		t.Fatalf("%d incidents of %q, want 1", len(incs), keys(fs...))
	}
	return incs[0].ID
}

// TestPlanAlerts is the decision table of the deployed app's cards: a
// finding alone gets its own card; a finding that makes an incident gets
// the incident's one card instead; a finding that joins a carded incident
// gets a follow-up under that incident's id, never a fresh alarm.
func TestPlanAlerts(t *testing.T) {
	t.Parallel()
	idAB := chainID(t, chainA, chainB)
	now := t0.Add(4 * time.Hour)
	stored := func(id string, rev int, members ...tenant.Finding) []state.IncidentRecord {
		return []state.IncidentRecord{{ID: id, Revision: rev, Members: keys(members...), FirstSeen: t0, LastCard: t0}}
	}
	tests := []struct {
		name      string
		fresh     []tenant.Finding
		accepted  []watch.AcceptedFinding
		window    []tenant.Finding
		stored    []state.IncidentRecord
		threshold tenant.Severity
		wantOwn   []string
		want      []watch.PlannedIncident
	}{
		{name: "a finding alone: its own card", fresh: []tenant.Finding{lone}, window: []tenant.Finding{chainA},
			wantOwn: keys(lone)},
		{name: "a finding that makes an incident with a recorded one: one incident card, no own card",
			fresh: []tenant.Finding{chainB}, window: []tenant.Finding{chainA, chainB},
			want: []watch.PlannedIncident{{ID: idAB, Revision: 1, New: keys(chainB), Members: keys(chainA, chainB)}}},
		{name: "two fresh findings of one new incident: still one card",
			fresh:   []tenant.Finding{chainA, chainB, lone},
			want:    []watch.PlannedIncident{{ID: idAB, Revision: 1, New: keys(chainA, chainB), Members: keys(chainA, chainB)}},
			wantOwn: keys(lone)},
		{name: "a finding that joins a carded incident: a follow-up",
			fresh: []tenant.Finding{chainC}, window: []tenant.Finding{chainA, chainB}, stored: stored(idAB, 1, chainA, chainB),
			want: []watch.PlannedIncident{{ID: idAB, Revision: 2, New: keys(chainC), Members: keys(chainA, chainB, chainC)}}},
		{name: "the incident's id moved (an earlier finding joined): the follow-up keeps the stored id",
			fresh: []tenant.Finding{chainD}, window: []tenant.Finding{chainA, chainB, chainC}, stored: stored("inc-stored", 4, chainB, chainC),
			want: []watch.PlannedIncident{{ID: "inc-stored", Revision: 5, New: keys(chainD), Members: keys(chainB, chainC, chainA, chainD)}}},
		{name: "recorded members only, nothing new: no card",
			fresh: []tenant.Finding{lone}, window: []tenant.Finding{chainA, chainB}, stored: stored(idAB, 1, chainA, chainB),
			wantOwn: keys(lone)},
		{name: "an incident below the alert severity: its findings alerted as before (the digest)",
			fresh: []tenant.Finding{chainB}, window: []tenant.Finding{chainA}, threshold: tenant.SeverityCritical,
			wantOwn: keys(chainB)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			th := tc.threshold
			if th == 0 {
				th = tenant.SeverityHigh
			}
			own, got := watch.PlanAlerts(tc.fresh, tc.accepted, tc.window, tc.stored, th, now)
			if diff := cmp.Diff(tc.wantOwn, own, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("own cards (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("incident cards (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanAlertsAcceptance: an accepted finding never gets its own card;
// an incident card is left out only when every finding it would announce
// is accepted by an entry naming it exactly (a follow-up: its new steps; a
// new incident: all its findings). A broad entry (a rule alone, a name
// pattern) never hides an incident step.
func TestPlanAlertsAcceptance(t *testing.T) {
	t.Parallel()
	idAB := chainID(t, chainA, chainB)
	now := t0.Add(4 * time.Hour)
	carded := []state.IncidentRecord{{ID: idAB, Revision: 1, Members: keys(chainA, chainB), FirstSeen: t0, LastCard: t0}}
	exact := func(f tenant.Finding) watch.AcceptedFinding { return watch.AcceptedFinding{F: f, Exact: true} }
	broad := func(f tenant.Finding) watch.AcceptedFinding { return watch.AcceptedFinding{F: f} }
	tests := []struct {
		name     string
		fresh    []tenant.Finding
		accepted []watch.AcceptedFinding
		window   []tenant.Finding
		stored   []state.IncidentRecord
		want     []watch.PlannedIncident
	}{
		{name: "follow-up: the new step named exactly: no card",
			accepted: []watch.AcceptedFinding{exact(chainC)}, window: []tenant.Finding{chainA, chainB}, stored: carded},
		{name: "follow-up: the new step accepted by a broad entry: a follow-up names it",
			accepted: []watch.AcceptedFinding{broad(chainC)}, window: []tenant.Finding{chainA, chainB}, stored: carded,
			want: []watch.PlannedIncident{{ID: idAB, Revision: 2, New: keys(chainC), Members: keys(chainA, chainB, chainC)}}},
		{name: "follow-up: one step named exactly, one fresh: the card announces the fresh one",
			fresh: []tenant.Finding{chainD}, accepted: []watch.AcceptedFinding{exact(chainC)}, window: []tenant.Finding{chainA, chainB, chainD}, stored: carded,
			want: []watch.PlannedIncident{{ID: idAB, Revision: 2, New: keys(chainD), Members: keys(chainA, chainB, chainC, chainD)}}},
		{name: "new incident: every finding named exactly: no card",
			accepted: []watch.AcceptedFinding{exact(chainA), exact(chainB)}},
		{name: "new incident: one finding accepted by a broad entry: the card",
			accepted: []watch.AcceptedFinding{exact(chainA), broad(chainB)},
			want:     []watch.PlannedIncident{{ID: idAB, Revision: 1, New: keys(chainB), Members: keys(chainA, chainB)}}},
		{name: "new incident: a recorded finding that no entry names: the card, although the new step is named exactly",
			accepted: []watch.AcceptedFinding{exact(chainB)}, window: []tenant.Finding{chainA},
			want: []watch.PlannedIncident{{ID: idAB, Revision: 1, Members: keys(chainA, chainB)}}},
		{name: "an accepted finding in a record already: not a new step again",
			accepted: []watch.AcceptedFinding{broad(chainB)}, window: []tenant.Finding{chainA}, stored: carded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			own, got := watch.PlanAlerts(tc.fresh, tc.accepted, tc.window, tc.stored, tenant.SeverityHigh, now)
			for _, k := range own {
				for _, a := range tc.accepted {
					if a.F.Key == k {
						t.Errorf("the accepted finding %s gets its own card", k)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("incident cards (-want +got):\n%s", diff)
			}
		})
	}
}
