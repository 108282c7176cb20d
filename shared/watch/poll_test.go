package watch_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/apt29"
	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestPollDirectoryWithoutWebhooks: with no notification URL the app
// subscribes to nothing and PollDirectory runs the users round itself,
// so a licence change is found by polling alone (with the audit log
// readable or not).
func TestPollDirectoryWithoutWebhooks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		deny []string
	}{
		{name: "audit log readable"},
		{name: "audit log denied", deny: []string{graphsim.SourceDirectoryAudits}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{NoWebhooks: true, Sim: graphsim.Options{Deny: tt.deny}})
			ctx := t.Context()
			e.must("RenewSubscriptions", e.app.RenewSubscriptions(ctx))
			if subs := e.sim.Subscriptions(); len(subs) != 0 {
				t.Errorf("webhooks off, yet %d subscriptions were created", len(subs))
			}
			if n := e.sim.Stats().Requests["/subscriptions"]; n != 0 {
				t.Errorf("webhooks off, yet %d requests to /subscriptions", n)
			}
			if len(e.stored()) != 0 {
				t.Error("webhooks off, yet subscriptions are stored")
			}
			if e.cursor(cursorUsers).Exists() {
				t.Error("RenewSubscriptions ran the users round although webhooks are off")
			}

			e.install() // RenewSubscriptions again, then PollDirectory: baselines and the posture digest
			if c := e.cursor(cursorUsers); !c.Exists() || c.DeltaLink == "" {
				t.Fatalf("PollDirectory did not run the users round: cursor %+v", c)
			}
			e.clk.Advance(2 * time.Minute)
			x := expected(t, e.attack(apt29.StepDisableAudit), "audit.advanced-auditing-disabled")
			e.clk.Advance(2 * time.Minute)
			e.must("PollDirectory", e.app.PollDirectory(ctx))
			e.alerted(x)
		})
	}
}

// TestPollDirectoryAuditDenied: without the audit log (403) the directory
// poll still succeeds, its delta rounds advance, and a backdoor credential
// is found from the service principal's baseline change alone.
func TestPollDirectoryAuditDenied(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		deny []string
	}{
		{name: "directoryAudits", deny: []string{graphsim.SourceDirectoryAudits}},
		{name: "directoryAudits and appRoleAssignedTo", deny: []string{graphsim.SourceDirectoryAudits, graphsim.SourceAppRoleAssignedTo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Sim: graphsim.Options{Deny: tt.deny}})
			ctx := t.Context()
			e.install()
			sp, audits := e.cursor(cursorSPs), e.cursor(cursorAudits)
			if !sp.Exists() || !audits.Exists() {
				t.Fatalf("after installation: service principal cursor %v, audit cursor %v", sp.Exists(), audits.Exists())
			}

			e.clk.Advance(2 * time.Minute)
			res := e.attack(apt29.StepSPBackdoor)
			e.clk.Advance(2 * time.Minute)
			if err := e.app.PollDirectory(ctx); err != nil {
				t.Fatalf("PollDirectory with %v denied: %v", tt.deny, err)
			}
			if c := e.cursor(cursorSPs); c.DeltaLink == sp.DeltaLink || c.ETag == sp.ETag {
				t.Error("the service principal delta round did not advance")
			}
			if c := e.cursor(cursorAudits); !c.Watermark.Equal(e.clk.Now()) {
				t.Errorf("audit watermark %v, want %v", c.Watermark, e.clk.Now())
			}
			x := expected(t, res, "sp.credential-added")
			rec := e.alerted(x)
			ev := rec.Finding.Evidence
			if src := fmt.Sprint(ev["sources"]); !strings.Contains(src, "baselineChange") {
				t.Errorf("sp.credential-added sources %s, want baselineChange", src)
			}
			if ev["auditLogChecked"] != false {
				t.Errorf("evidence auditLogChecked = %v, want false: the audit log was denied", ev["auditLogChecked"])
			}
			for _, x := range res.Expected {
				if x.Rule != "sp.credential-added" {
					e.alerted(x)
				}
			}
		})
	}
}

// TestPollDirectoryRepeatedRound: a round that stored its findings and
// alerts but not its cursors and baselines (a crash before "advance the
// cursor last") is repeated over the same changes. The repetition finds
// the same findings again and queues nothing new.
func TestPollDirectoryRepeatedRound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		step       string
		noWebhooks bool // the users round runs in PollDirectory
	}{
		{step: apt29.StepSPBackdoor},
		{step: apt29.StepReplyURL},
		{step: apt29.StepDisableAudit, noWebhooks: true},
	}
	kinds := map[string]tenant.SubjectType{
		string(graphsim.KindUser): tenant.SubjectUser, string(graphsim.KindServicePrincipal): tenant.SubjectServicePrincipal,
		string(graphsim.KindApplication): tenant.SubjectApplication,
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{NoWebhooks: tt.noWebhooks})
			ctx := t.Context()
			e.install()
			e.clk.Advance(2 * time.Minute)
			res := e.attack(tt.step)

			// What the first round will move.
			names := []string{cursorSPs, cursorApps, cursorAudits}
			if tt.noWebhooks {
				names = append(names, cursorUsers)
			}
			old := make(map[string]state.Cursor)
			for _, n := range names {
				old[n] = e.cursor(n)
			}
			var oldBaselines []state.Baseline
			for _, c := range res.Changed {
				typ, ok := kinds[c.Kind]
				if !ok {
					continue
				}
				bs, err := e.st.BaselinesByID(ctx, typ, []string{c.ID})
				e.must("baselines", err)
				for _, b := range bs {
					oldBaselines = append(oldBaselines, b)
				}
			}
			if len(oldBaselines) == 0 {
				t.Fatalf("the attack changed no object with a baseline: %+v", res.Changed)
			}

			e.clk.Advance(2 * time.Minute)
			e.must("first PollDirectory", e.app.PollDirectory(ctx))
			first := e.findings()
			items, messages := e.outbox(), len(e.teams.Messages())
			var keys []string
			for _, x := range res.Expected {
				keys = append(keys, e.alerted(x).Finding.Key)
			}
			moved := false
			for _, n := range names {
				if c := e.cursor(n); c.DeltaLink != old[n].DeltaLink || !c.Watermark.Equal(old[n].Watermark) {
					moved = true
				}
			}
			if !moved {
				t.Fatal("the first round moved no cursor: there is nothing to repeat")
			}

			// Undo what the round writes last.
			for _, n := range names {
				c := e.cursor(n)
				c.DeltaLink, c.Watermark = old[n].DeltaLink, old[n].Watermark
				_, err := e.st.SaveCursor(ctx, c)
				e.must("restore cursor "+n, err)
			}
			e.must("restore baselines", e.st.PutBaselines(ctx, oldBaselines))

			e.clk.Advance(time.Minute)
			e.must("repeated PollDirectory", e.app.PollDirectory(ctx))
			if after := e.outbox(); len(after) != len(items) {
				t.Errorf("the repeated round queued %d more outbox items: %v → %v", len(after)-len(items), describe(items), describe(after))
			}
			if n := len(e.teams.Messages()); n != messages {
				t.Errorf("the repeated round posted %d more messages to Teams", n-messages)
			}
			again := e.findings()
			for _, k := range keys {
				a, f := again[k], first[k]
				if !a.LastSeen.Equal(e.clk.Now()) {
					t.Errorf("%s last seen %v, want %v: the repeated round did not find it again", k, a.LastSeen, e.clk.Now())
				}
				if !a.FirstSeen.Equal(f.FirstSeen) {
					t.Errorf("%s first seen %v → %v", k, f.FirstSeen, a.FirstSeen)
				}
				if n := len(e.carrying(k)); n != 1 {
					t.Errorf("%d outbox items carry %s, want 1", n, k)
				}
			}
			for k := range again {
				if _, ok := first[k]; !ok && again[k].Status != state.FindingBaseline {
					t.Errorf("the repeated round recorded a new finding %s (%s)", k, again[k].Status)
				}
			}
		})
	}
}

// TestPollSignInsDenied: a tenant without Entra ID P1/P2 answers 403 on the
// sign-in log. PollSignIns is not a failing run: it warns, keeps no
// watermark, and tries again next time; the other functions carry on.
func TestPollSignInsDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{Sim: graphsim.Options{Deny: []string{graphsim.SourceSignIns}}})
	ctx := t.Context()
	if err := e.app.PollSignIns(ctx); err != nil {
		t.Fatalf("PollSignIns with the sign-in log denied: %v, want nil", err)
	}
	if e.cursor(cursorSignIns).Exists() {
		t.Error("a watermark was stored although no sign-in was read")
	}
	if n := e.sim.Stats().Status[403]; n == 0 {
		t.Error("the sign-in log was not asked (no 403 answered): the test did not exercise the denial")
	}
	e.must("PollDirectory", e.app.PollDirectory(ctx))
}
