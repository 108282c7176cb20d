package watch_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/state"
)

// TestSweepAccepted: with TENANTWATCH_ACCEPT naming a rule, the daily
// sweep neither records nor cards its findings while the entry holds,
// marks them accepted in the day's findings.json and says so in the
// digest; on the entry's expiry date they are new, recorded and listed in
// the digest, and the report lists the expired entry.
func TestSweepAccepted(t *testing.T) {
	t.Parallel()
	const rule = "mfa.not-registered"
	expires := t0.Add(24 * time.Hour).Format(time.DateOnly) // day 2
	e := newEnv(t, envOptions{NoWebhooks: true, Settings: map[string]string{
		"TENANTWATCH_ACCEPT": `{"entries":[{"rule":"` + rule + `","reason":"accounts being enrolled","acceptedBy":"soc","expires":"` + expires + `"}]}`,
	}})
	ctx := t.Context()
	for day := 1; day <= 2; day++ {
		if day > 1 {
			e.clk.Advance(24 * time.Hour)
		}
		if err := e.app.DailySweep(ctx); err != nil {
			t.Fatalf("day %d: DailySweep: %v", day, err)
		}
		recorded := 0
		for _, r := range e.findings() {
			if r.Finding.Rule == rule {
				recorded++
			}
		}
		items := e.outbox()
		digest := items[len(items)-1]
		if digest.Kind != state.OutboxDigest {
			t.Fatalf("day %d: last outbox item is a %s", day, digest.Kind)
		}
		carded := 0
		for _, it := range items {
			for _, k := range it.FindingKeys {
				if strings.HasPrefix(k, rule+":") {
					carded++
				}
			}
		}
		data, err := e.rep.Get(ctx, e.clk.Now().Format("2006/01/02")+"/"+report.JSONFile)
		e.must("read report", err)
		js := string(data)
		doc, err := report.ReadJSON(bytes.NewReader(data))
		e.must("parse report", err)
		if doc.Acceptance == nil {
			t.Fatalf("day %d: findings.json has no acceptance", day)
		}
		switch day {
		case 1:
			if recorded != 0 || carded != 0 {
				t.Errorf("day 1: %d %s findings recorded, %d carded; want none while accepted", recorded, rule, carded)
			}
			if n := doc.Acceptance.Accepted(); n == 0 || !strings.Contains(js, `"accepted": {`) {
				t.Errorf("day 1: findings.json marks %d findings accepted", n)
			}
			if !strings.Contains(string(digest.Payload), "accepted (not alerted)") {
				t.Error("day 1: the digest does not count the accepted findings")
			}
			if !strings.Contains(js, `"reason": "accounts being enrolled"`) {
				t.Error("day 1: findings.json lacks the reason")
			}
		case 2:
			if recorded == 0 || carded == 0 {
				t.Errorf("day 2 (expired): %d %s findings recorded, %d carded; want them new", recorded, rule, carded)
			}
			if n := doc.Acceptance.Accepted(); n != 0 {
				t.Errorf("day 2: %d findings accepted by an expired entry", n)
			}
			if x := doc.Acceptance.Expired; len(x) != 1 || len(x[0].WouldMatch) != recorded || !strings.HasPrefix(x[0].WouldMatch[0], rule+":") {
				t.Errorf("day 2: expired entries %+v, want the entry with the %d findings it would accept", x, recorded)
			}
		}
	}
}

// TestPollAccepted: a finding of the directory poll that TENANTWATCH_ACCEPT
// accepts is neither recorded nor given a card of its own; one it does not
// name in the same poll is alerted as ever. The entry names a rule alone
// (broad): it does not hide the finding as a step of an incident, so an
// incident card may announce it (TestPlanAlertsAcceptance holds the rule
// both ways).
func TestPollAccepted(t *testing.T) {
	t.Parallel()
	const rule = "audit.advanced-auditing-disabled"
	e := newEnv(t, envOptions{NoWebhooks: true, Settings: map[string]string{
		"TENANTWATCH_ACCEPT": `{"entries":[{"rule":"` + rule + `","reason":"licence migration","acceptedBy":"soc","expires":"2099-01-01"}]}`,
	}})
	ctx := t.Context()
	e.install()
	before := map[string]bool{}
	for k := range e.findings() {
		before[k] = true
	}
	e.clk.Advance(2 * time.Minute)
	x := expected(t, e.attack(apt29.StepDisableAudit), rule)
	other := e.attack(apt29.StepSPBackdoor)
	e.clk.Advance(2 * time.Minute)
	e.must("PollDirectory", e.app.PollDirectory(ctx))
	// The barrier: the backdoor's findings, found in the same poll, were
	// alerted.
	for _, y := range other.Expected {
		if y.Rule != rule {
			e.alerted(y)
		}
	}
	if rec, ok := e.findingFor(x.Rule, x.SubjectID); ok && !before[rec.Finding.Key] {
		t.Errorf("the accepted %s finding on %s was recorded (%s)", rule, x.SubjectName, rec.Status)
	}
	for _, it := range e.outbox() {
		for _, k := range it.FindingKeys {
			if strings.HasPrefix(k, rule+":") && strings.Contains(k, x.SubjectID) && it.Kind != state.OutboxIncident {
				t.Errorf("an outbox item (%s) carries the accepted finding %s", it.Kind, k)
			}
		}
	}
}
