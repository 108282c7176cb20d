package cli_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
)

func runCLIEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(t.Context(), args, &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return result{code, out.String(), errb.String()}
}

// TestScanAuthNoneNeedsLoopbackActivityURL: --auth none sends no token, so
// the Management Activity API root must be loopback too (exit 2).
func TestScanAuthNoneNeedsLoopbackActivityURL(t *testing.T) {
	r := runCLI(t, "scan", "--graph-url", "http://127.0.0.1:1/graph", "--auth", "none", "--activity-url", "https://manage.office.com")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--graph-url and --activity-url are both loopback") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, "scan", "--graph-url", "http://127.0.0.1:1/graph", "--activity-url", "ftp://x", "--auth", "none")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--activity-url") {
		t.Errorf("bad URL: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestScanStartSubscriptions: --start-subscriptions starts the
// Audit.Exchange subscription of the simulated tenant once (the tenant id
// read from Graph's /organization), says so, and leaves a started one
// alone; a tenant whose audit log is off is a warning, not a failure.
func TestScanStartSubscriptions(t *testing.T) {
	url, sim := startSim(t, &graphsim.Options{ActivityUnsubscribed: true})
	args := []string{"scan", "--graph-url", url, "--auth", "none", "--progress", "never", "--start-subscriptions"}
	r := runCLIEnv(t, nil, args...)
	if r.code != cli.ExitOK || !strings.Contains(r.stderr, "started the Audit.Exchange subscription") || !strings.Contains(r.stderr, "12 hours") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if got := sim.ActivitySubscriptions(); !slices.Equal(got, []string{"Audit.Exchange"}) {
		t.Errorf("subscriptions after the scan: %v", got)
	}
	r = runCLIEnv(t, nil, args...)
	if r.code != cli.ExitOK || !strings.Contains(r.stderr, "already started") {
		t.Errorf("second run: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := sim.Stats().Requests["/activity/feed/subscriptions/start"]; n != 1 {
		t.Errorf("%d start requests, want 1", n)
	}

	url, sim = startSim(t, &graphsim.Options{ActivityUnsubscribed: true, ActivityFault: graphsim.ActivityAuditingDisabled})
	r = runCLIEnv(t, nil, "scan", "--graph-url", url, "--auth", "none", "--progress", "never", "--start-subscriptions")
	if r.code != cli.ExitOK || !strings.Contains(r.stderr, "warning: --start-subscriptions") || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("auditing off: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := sim.ActivitySubscriptions(); len(got) != 0 {
		t.Errorf("subscriptions %v", got)
	}

	// Without the flag nothing is written.
	url, sim = startSim(t, &graphsim.Options{ActivityUnsubscribed: true})
	if r := runCLIEnv(t, nil, "scan", "--graph-url", url, "--auth", "none", "--progress", "never"); r.code != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := sim.Stats().Requests["/activity/feed/subscriptions/start"]; n != 0 || len(sim.ActivitySubscriptions()) != 0 {
		t.Errorf("a scan without --start-subscriptions wrote: %d starts", n)
	}
}
