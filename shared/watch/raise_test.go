package watch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/graphsim/scenario/midnight"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Simulated routes of the Conditional Access reads.
const (
	routeCAPolicies   = "/identity/conditionalAccess/policies"
	routeGroupMembers = "/groups/{id}/transitiveMembers/microsoft.graph.user"
)

// TestPollSignInsRaisesDeviceCode: the sign-in poll judges a device-code
// sign-in against the Conditional Access posture, as the scan does. The
// midnight story's phished user is covered by no enabled policy blocking
// the device-code flow, so signin.device-code is carded one step higher
// (high, not medium) by PollSignIns alone, at the cost of one read of the
// policies and one per group they name (one page each here), made once an
// hour: the next poll reads neither. With Conditional Access denied (no
// Policy.Read.All, or no Entra ID P1) the poll does not fail: the finding
// stays medium and says what it did not check.
func TestPollSignInsRaisesDeviceCode(t *testing.T) {
	t.Parallel()
	for _, denied := range []bool{false, true} {
		name := "conditional access read"
		opts := graphsim.Options{Scenario: midnight.Scenario()}
		if denied {
			name = "conditional access denied"
			opts.Deny = []string{graphsim.SourceConditionalAccess}
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Sim: opts})
			ctx := t.Context()
			e.install()
			e.must("PollSignIns (installation)", e.app.PollSignIns(ctx))
			// The installation's poll read the posture for the story's
			// earlier device-code sign-ins: an hour on, it is read again.
			e.clk.Advance(time.Hour)
			x := expected(t, e.attack(midnight.StepDeviceCode), "signin.device-code")
			if x.Severity != "high" || !strings.Contains(x.Why, "one step higher") {
				t.Fatalf("the story expects %s (%s), want a user no device-code block covers (high): nothing to check", x.Severity, x.Why)
			}
			e.clk.Advance(5 * time.Minute)
			before := e.sim.Stats().Requests
			e.must("PollSignIns", e.app.PollSignIns(ctx))
			after := e.sim.Stats().Requests
			rec := e.alerted(x)
			ev := rec.Finding.Evidence
			if denied {
				if rec.Finding.Severity != tenant.SeverityMedium {
					t.Errorf("signin.device-code on %s is %s with Conditional Access denied, want medium", x.SubjectName, rec.Finding.Severity)
				}
				if _, ok := ev["notChecked"]; !ok || ev["raisedBecause"] != nil {
					t.Errorf("evidence %v, want notChecked and no raisedBecause", ev)
				}
				return
			}
			if rec.Finding.Severity.String() != x.Severity {
				t.Errorf("signin.device-code on %s is %s, want %s (%s)", x.SubjectName, rec.Finding.Severity, x.Severity, x.Why)
			}
			if ev["raisedBecause"] == nil || ev["notChecked"] != nil {
				t.Errorf("evidence %v, want raisedBecause and no notChecked", ev)
			}
			policies := after[routeCAPolicies] - before[routeCAPolicies]
			groups := after[routeGroupMembers] - before[routeGroupMembers]
			if policies != 1 || groups == 0 {
				t.Errorf("the poll read the policies %d times and group members %d times, want 1 and one per group", policies, groups)
			}
			t.Logf("Conditional Access reads of the poll: policies %d, group members %d", policies, groups)
			// Within the hour, another poll reads neither.
			e.clk.Advance(5 * time.Minute)
			e.must("PollSignIns (next)", e.app.PollSignIns(ctx))
			again := e.sim.Stats().Requests
			if n := again[routeCAPolicies] + again[routeGroupMembers] - after[routeCAPolicies] - after[routeGroupMembers]; n != 0 {
				t.Errorf("the next poll within the hour made %d Conditional Access reads, want 0", n)
			}
		})
	}
}
