package watch_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/detect"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// seer is a rule that finds nothing and remembers what each round gave it:
// the snapshots' failure aggregates and earlier findings, one entry per
// run, so a test sees what signin.password-spray and the join rules are
// handed in the deployed app.
type seer struct {
	sources []tenant.Source
	mu      sync.Mutex
	runs    []seen
}

type seen struct {
	failures *tenant.SignInFailures
	prior    []tenant.Finding
	audits   int
	signIns  []string // ids of the sign-ins that have one (not the history's times)
	beta     string   // why signInsBeta is unavailable ("" when read)
}

func (d *seer) Rule() tenant.Rule {
	return tenant.Rule{ID: "test.seer", Title: "Sees", Severity: tenant.SeverityLow, Sources: d.sources}
}

func (d *seer) Detect(_ context.Context, in *detect.Input) ([]tenant.Finding, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := seen{failures: in.Snapshot.SignInFailures, prior: slices.Clone(in.Snapshot.Prior), audits: len(in.Snapshot.Audits),
		beta: in.Snapshot.Unavailable[tenant.SourceSignInsBeta]}
	for _, si := range in.Snapshot.SignIns {
		if si.ID != "" {
			r.signIns = append(r.signIns, si.ID)
		}
	}
	d.runs = append(d.runs, r)
	return nil, nil
}

func (d *seer) Runs() []seen {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.runs)
}

// members returns the distinct members of f's tallies of kind and key, in
// every bucket, and their summed count.
func members(f *tenant.SignInFailures, kind tenant.FailureKind, key string) ([]string, int) {
	if f == nil {
		return nil, 0
	}
	var out []string
	n := 0
	for _, tl := range f.Tallies() {
		if tl.Kind == kind && tl.Key == key {
			out = append(out, tl.Members...)
			n += tl.Count
		}
	}
	slices.Sort(out)
	return slices.Compact(out), n
}

// sprayNet is the network the test's spray comes from (not used by the
// scenario).
const sprayNet = "100.64.77.0/24"

// sprayed is the id of the test's sprayed account n.
func sprayed(n int) string { return fmt.Sprintf("5a7a0000-0000-4000-8000-%012d", n) }

// spray creates the accounts first..last (when new) and appends their
// failed sign-ins (50126, IMAP4) from 100.64.77.<10+n> at the given time to
// the simulated sign-in log.
func spray(e *env, at time.Time, first, last int) {
	e.t.Helper()
	for n := first; n <= last; n++ {
		if _, ok := e.sim.Get(graphsim.KindUser, sprayed(n)); !ok {
			_, err := e.sim.Create(graphsim.KindUser, map[string]any{"id": sprayed(n), "displayName": fmt.Sprint("Account ", n),
				"userPrincipalName": fmt.Sprintf("account%02d@northbridge-policy.org", n), "accountEnabled": true})
			e.must("create account", err)
		}
		e.must("append sign-in", e.sim.AppendLog(graphsim.LogSignIns, map[string]any{
			"id": fmt.Sprintf("5f7a%04d-%s-4000-8000-000000000000", n, at.Format("1504")), "createdDateTime": at.Format(time.RFC3339),
			"userId": sprayed(n), "userPrincipalName": fmt.Sprintf("account%02d@northbridge-policy.org", n), "appId": "00000002-0000-0ff1-ce00-000000000000",
			"appDisplayName": "Office 365 Exchange Online", "ipAddress": fmt.Sprintf("100.64.77.%d", 10+n), "clientAppUsed": "IMAP4",
			"status": map[string]any{"errorCode": 50126, "failureReason": "Invalid username or password or Invalid on-premise username or password."},
		}))
	}
}

// TestPollSignInsSpray: PollSignIns keeps the failed sign-ins of a spray
// as tallies in Table Storage and hands every poll's rules the aggregate
// of the last two hours — the accounts of earlier polls included, an
// overlapping re-read adding none — and prunes it after two hours.
func TestPollSignInsSpray(t *testing.T) {
	t.Parallel()
	d := &seer{sources: []tenant.Source{tenant.SourceSignIns}}
	e := newEnv(t, envOptions{Detectors: []detect.Detector{d}})
	ctx := t.Context()

	// Poll 1 (the installation) reads six accounts failing five minutes
	// ago; poll 2, five minutes later, reads them again (its overlap) and
	// six more.
	spray(e, e.clk.Now().Add(-5*time.Minute), 1, 6)
	e.must("PollSignIns 1", e.app.PollSignIns(ctx))
	e.clk.Advance(5 * time.Minute)
	spray(e, e.clk.Now().Add(-time.Minute), 7, 12)
	e.must("PollSignIns 2", e.app.PollSignIns(ctx))

	runs := d.Runs()
	if len(runs) != 2 {
		t.Fatalf("the rules ran %d times in two polls, want 2", len(runs))
	}
	accounts := func(first, last int) []string {
		var out []string
		for n := first; n <= last; n++ {
			out = append(out, sprayed(n))
		}
		return out
	}
	got1, _ := members(runs[0].failures, tenant.FailureByNet, sprayNet)
	if diff := cmp.Diff(accounts(1, 6), got1); diff != "" {
		t.Errorf("poll 1's aggregate: accounts of the network (-want +got):\n%s", diff)
	}
	got2, _ := members(runs[1].failures, tenant.FailureByNet, sprayNet)
	if diff := cmp.Diff(accounts(1, 12), got2); diff != "" {
		t.Errorf("poll 2's aggregate: both polls' accounts, once each (-want +got):\n%s", diff)
	}
	stored, err := e.st.SignInFailures(ctx, time.Time{})
	e.must("stored failures", err)
	got, _ := members(stored, tenant.FailureByNet, sprayNet)
	if diff := cmp.Diff(accounts(1, 12), got); diff != "" {
		t.Errorf("stored aggregate (-want +got):\n%s", diff)
	}
	if m, _ := members(stored, tenant.FailureByAccount, sprayed(1)); !slices.Equal(m, []string{"100.64.77.11"}) {
		t.Errorf("account 1 failed from %v, want its one address", m)
	}

	// Two hours later the spray has left the window: the next poll judges
	// nothing (no sign-in, no tally) and the stored buckets are pruned.
	e.clk.Advance(2*time.Hour + 15*time.Minute)
	e.must("PollSignIns 3", e.app.PollSignIns(ctx))
	if n := len(d.Runs()); n != 2 {
		t.Errorf("the rules ran on an empty poll (%d runs)", n)
	}
	stored, err = e.st.SignInFailures(ctx, time.Time{})
	e.must("stored failures", err)
	if m, _ := members(stored, tenant.FailureByNet, sprayNet); len(m) != 0 {
		t.Errorf("the spray's buckets survived the prune: %v", m)
	}
}
