package watch_test

import (
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/state"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// TestPollSignInsSprayRule: a spray spread over two polls — six accounts
// from one /24 in each, ten being the rule's default — is one
// signin.password-spray finding, recorded by the poll that completes it
// and by no earlier one: the aggregate in Table Storage carries the first
// poll's accounts to the second, whose window does not re-read them.
func TestPollSignInsSprayRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	e.must("PollSignIns (installation)", e.app.PollSignIns(ctx))
	sprays := func() []state.FindingRecord {
		var out []state.FindingRecord
		for _, r := range e.findings() {
			if r.Finding.Rule == "signin.password-spray" {
				out = append(out, r)
			}
		}
		return out
	}
	// The first six arrive late in the log, 12 minutes old: poll 1 reads
	// them, poll 2's window (its watermark less 15 minutes) no longer does.
	spray(e, e.clk.Now().Add(-12*time.Minute), 1, 6)
	e.clk.Advance(5 * time.Minute)
	e.must("PollSignIns 1", e.app.PollSignIns(ctx))
	if got := sprays(); len(got) != 0 {
		t.Fatalf("six accounts made %d spray findings, want none", len(got))
	}
	e.clk.Advance(5 * time.Minute)
	spray(e, e.clk.Now().Add(-2*time.Minute), 7, 12)
	e.must("PollSignIns 2", e.app.PollSignIns(ctx))
	got := sprays()
	if len(got) != 1 {
		t.Fatalf("%d spray findings after twelve accounts over two polls, want 1", len(got))
	}
	if got[0].Status == state.FindingBaseline {
		t.Errorf("the spray was recorded as baseline")
	}
	if got[0].Finding.Severity < tenant.SeverityMedium {
		t.Errorf("severity %s", got[0].Finding.Severity)
	}
	e.clk.Advance(5 * time.Minute)
	e.must("PollSignIns 3", e.app.PollSignIns(ctx))
	if n := len(sprays()); n != 1 {
		t.Errorf("the next poll, re-reading the window, made %d spray findings, want still 1", n)
	}
}
