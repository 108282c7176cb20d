package watch_test

import (
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
	"github.com/tenantwatch/tenantwatch/shared/state"
)

// sweepOnly are the rules the deployed app judges in the daily sweep only
// (README: the 2023–2025 rules in the deployed app): their data is not
// polled.
var sweepOnly = map[string]bool{
	"mfa.not-registered": true, "app.cross-tenant-mail-access": true, "posture.dormant-excluded-from-mfa": true,
	"posture.device-code-unrestricted": true, "posture.user-consent-allowed": true,
}

// TestMidnightThroughTheDeployedApp plays the midnight story's six steps
// against the deployed app on its polls alone: after each step
// PollSignIns and PollDirectory run, and every finding the step expects of
// a polled rule is recorded as new by then (the password spray over the
// failure aggregate, the new app's chain, the device-code chain across the
// two polls, the federated credential, the domain federation), at the
// severity the story expects — the spray's success on an account no MFA
// policy applies to critical and the device-code sign-in of a user no
// device-code block covers one step higher, as in the scan, since the
// sign-in poll reads the Conditional Access posture for them; the
// expected findings of the rules only the daily sweep judges are recorded
// by the next sweep; no look-alike makes a finding.
func TestMidnightThroughTheDeployedApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Sim: graphsim.Options{Scenario: midnight.Scenario()}})
	ctx := t.Context()
	e.install()
	e.must("PollSignIns (installation)", e.app.PollSignIns(ctx))
	var later []graphsim.ExpectedFinding
	for _, step := range []string{midnight.StepPasswordSpray, midnight.StepOAuthApp, midnight.StepDeviceCode,
		midnight.StepRogueDevice, midnight.StepFederatedCredential, midnight.StepDomainFederation} {
		e.clk.Advance(2 * time.Minute)
		res := e.attack(step)
		e.clk.Advance(5 * time.Minute)
		e.must(step+": PollSignIns", e.app.PollSignIns(ctx))
		e.must(step+": PollDirectory", e.app.PollDirectory(ctx))
		for _, x := range res.Expected {
			if sweepOnly[x.Rule] {
				later = append(later, x)
				continue
			}
			rec, ok := e.findingFor(x.Rule, x.SubjectID)
			if !ok {
				t.Errorf("%s: no %s on %s (%s) from the polls", step, x.Rule, x.SubjectName, x.SubjectID)
				continue
			}
			if rec.Status != state.FindingQueued && rec.Status != state.FindingDelivered {
				t.Errorf("%s: %s on %s is %s, want new", step, x.Rule, x.SubjectName, rec.Status)
			}
			if got := rec.Finding.Severity.String(); got != x.Severity {
				t.Errorf("%s: %s on %s is %s from the polls, want %s (%s)", step, x.Rule, x.SubjectName, got, x.Severity, x.Why)
			}
			if len(e.carrying(rec.Finding.Key)) == 0 {
				t.Errorf("%s: no outbox item carries %s on %s", step, x.Rule, x.SubjectName)
			}
		}
	}
	e.clk.Advance(24 * time.Hour)
	e.must("DailySweep", e.app.DailySweep(ctx))
	for _, x := range later {
		if _, ok := e.findingFor(x.Rule, x.SubjectID); !ok {
			t.Errorf("no %s on %s (%s) from the daily sweep", x.Rule, x.SubjectName, x.SubjectID)
		}
	}
	// The look-alikes (a conference-room device-code sign-in, an
	// Intune-managed registration, an admin consent to a non-mail app, a
	// typo burst at HQ …) make no finding on the polls or the sweep.
	decoys, err := midnight.Decoys()
	e.must("decoys", err)
	if len(decoys) == 0 {
		t.Fatal("the scenario has no decoys: nothing to check")
	}
	for _, d := range decoys {
		if rec, ok := e.findingFor(d.Rule, d.SubjectID); ok {
			t.Errorf("decoy: %s on %s (%s) recorded as %s", d.Rule, d.SubjectID, rec.Finding.Key, rec.Status)
		}
	}
}
