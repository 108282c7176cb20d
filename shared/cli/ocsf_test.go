package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/graphsim"
	"github.com/tenantwatch/tenantwatch/shared/report/ocsfcheck"
)

// fixedNow is the tenant's and the scan's clock in the golden scans.
var fixedNow = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// runCLIAt runs the CLI with its clock fixed at now.
func runCLIAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(t.Context(), args, &cli.Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }})
	return result{code, out.String(), errb.String()}
}

// startFixedSim serves the apt29 tenant with its clock standing at now.
func startFixedSim(t *testing.T, now time.Time) (string, *graphsim.Server) {
	t.Helper()
	return startSim(t, &graphsim.Options{Seed: 1, Now: now, Clock: func() time.Time { return now }})
}

// TestScanOCSF scans the simulated APT29 tenant with the clocks fixed and
// compares findings.ocsf.jsonl with the golden file, then checks every
// line against the OCSF 1.8.0 Detection Finding schema.
func TestScanOCSF(t *testing.T) {
	url, _ := startFixedSim(t, fixedNow)
	out := t.TempDir()
	r := runCLIAt(t, fixedNow, "scan", "--graph-url", url, "--auth", "none", "--azure-ip-ranges", serviceTags, "--out", out)
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "findings.ocsf.jsonl") {
		t.Errorf("stderr does not name findings.ocsf.jsonl:\n%s", r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(out, "findings.ocsf.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "apt29.golden.ocsf.jsonl"), got)

	f := readFindings(t, out)
	lines := bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n"))
	if len(f.Findings) == 0 || len(f.Incidents) == 0 || len(lines) != len(f.Findings)+len(f.Incidents) {
		t.Fatalf("%d OCSF lines for %d findings and %d incidents", len(lines), len(f.Findings), len(f.Incidents))
	}
	schema, err := ocsfcheck.Load(filepath.Join("..", "report", "testdata", "ocsf-1.8.0"), filepath.Join("..", "report", "testdata", "ocsf-1.8.0-bases"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range lines {
		// The findings, then the incidents.
		uid := ""
		if i < len(f.Findings) {
			uid = f.Findings[i].Key
		} else {
			uid = f.Incidents[i-len(f.Findings)].ID
		}
		for _, err := range schema.CheckLine("detection_finding", line, ocsfcheck.Omitted()) {
			t.Errorf("line %d (%s): %v", i+1, uid, err)
		}
		if !bytes.Contains(line, []byte(`"uid":"`+uid+`"`)) {
			t.Errorf("line %d is not %s", i+1, uid)
		}
	}
	t.Logf("objects not verified (not in the excerpt): %v", schema.Unverified())
}
