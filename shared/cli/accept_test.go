package cli_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/cli"
	"github.com/tenantwatch/tenantwatch/shared/report/ocsfcheck"
)

// acceptedKey is the simulated tenant's one critical finding: the app
// reading mail.
const acceptedKey = "mail.app-collection:085f1a8d-c570-4cb1-81c9-196bb010274d"

// acceptFile accepts exactly that finding (rule and subject: an exact
// entry, so it may accept a critical finding) and has one entry that
// expired before the scan.
const acceptFile = `{
  "entries": [
    {"rule": "mail.app-collection", "subjectId": "085F1A8D-C570-4CB1-81C9-196BB010274D", "reason": "the archiver's mail access is approved (CHG-1234)", "acceptedBy": "soc@northbridge.example", "expires": "2027-01-31"},
    {"rule": "audit.advanced-auditing-disabled", "reason": "licence migration", "acceptedBy": "it@northbridge.example", "expires": "2026-11-01"}
  ]
}`

// scanFiles scans the fixed simulated tenant into a new directory with
// extra flags and returns the result and the directory.
func scanFiles(t *testing.T, url string, extra ...string) (result, string) {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"scan", "--graph-url", url, "--auth", "none", "--azure-ip-ranges", serviceTags, "--out", out}, extra...)
	return runCLIAt(t, fixedNow, args...), out
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestScanAccept scans the simulated tenant with and without an accept
// file: with it, exactly the named finding is marked accepted in every
// output, --fail-on critical no longer fails, the expired entry is
// reported with what it would have accepted, and everything else is
// byte for byte as without it.
func TestScanAccept(t *testing.T) {
	url, _ := startFixedSim(t, fixedNow)
	accFile := filepath.Join(t.TempDir(), "accept.json")
	if err := os.WriteFile(accFile, []byte(acceptFile), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, plainDir := scanFiles(t, url, "--fail-on", "critical")
	if plain.code != cli.ExitFindings {
		t.Fatalf("without --accept: exit %d, want %d (the critical finding)\nstderr:\n%s", plain.code, cli.ExitFindings, plain.stderr)
	}
	acc, accDir := scanFiles(t, url, "--fail-on", "critical", "--accept", accFile)
	if acc.code != cli.ExitOK {
		t.Fatalf("with --accept: exit %d, want %d (the critical finding is accepted)\nstderr:\n%s", acc.code, cli.ExitOK, acc.stderr)
	}
	if low, _ := scanFiles(t, url, "--fail-on", "high", "--accept", accFile); low.code != cli.ExitFindings {
		t.Errorf("--fail-on high with --accept: exit %d, want %d (unaccepted high findings)", low.code, cli.ExitFindings)
	}

	// findings.json: "accepted" in that finding, "acceptance" at the top,
	// nothing else changed.
	var pj, aj map[string]any
	if err := json.Unmarshal(readFile(t, plainDir, "findings.json"), &pj); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readFile(t, accDir, "findings.json"), &aj); err != nil {
		t.Fatal(err)
	}
	acceptance, ok := aj["acceptance"].(map[string]any)
	if !ok {
		t.Fatal("findings.json has no acceptance object")
	}
	delete(aj, "acceptance")
	marked := 0
	for _, x := range aj["findings"].([]any) {
		f := x.(map[string]any)
		if a, ok := f["accepted"].(map[string]any); ok {
			marked++
			if f["key"] != acceptedKey || a["entry"] != 1.0 || a["expires"] != "2027-01-31" || a["acceptedBy"] != "soc@northbridge.example" || !strings.Contains(a["reason"].(string), "CHG-1234") {
				t.Errorf("accepted %v: %v", f["key"], a)
			}
			delete(f, "accepted")
		}
	}
	if marked != 1 {
		t.Errorf("%d findings marked accepted, want 1", marked)
	}
	if !jsonEqual(t, pj, aj) {
		t.Error("findings.json differs from the plain scan's beyond accepted and acceptance")
	}
	if acceptance["accepted"] != 1.0 {
		t.Errorf("acceptance.accepted %v, want 1", acceptance["accepted"])
	}
	expired := acceptance["expired"].([]any)
	if len(expired) != 1 {
		t.Fatalf("acceptance.expired %v, want entry 2", expired)
	}
	e := expired[0].(map[string]any)
	would, _ := e["wouldMatch"].([]any)
	if e["entry"] != 2.0 || e["expires"] != "2026-11-01" || len(would) == 0 {
		t.Errorf("expired entry %v", e)
	}
	for _, k := range would {
		if !strings.HasPrefix(k.(string), "audit.advanced-auditing-disabled:") {
			t.Errorf("expired entry would match %v", k)
		}
	}

	// findings.csv: the accepted column, filled for that finding only.
	pr := csvRows(t, readFile(t, plainDir, "findings.csv"))
	ar := csvRows(t, readFile(t, accDir, "findings.csv"))
	if len(pr) != len(ar) {
		t.Fatalf("%d CSV rows, want %d", len(ar), len(pr))
	}
	keyCol := 8
	for i := range ar {
		last := ar[i][len(ar[i])-1]
		if i > 0 && (last != "") != (ar[i][keyCol] == acceptedKey) {
			t.Errorf("row %d (%s): accepted %q", i, ar[i][keyCol], last)
		}
		ar[i][len(ar[i])-1], pr[i][len(pr[i])-1] = "", ""
		if strings.Join(ar[i], "\x00") != strings.Join(pr[i], "\x00") {
			t.Errorf("row %d differs beyond the accepted column", i)
		}
	}

	// findings.ocsf.jsonl: that finding Suppressed, every other line as
	// before, every line valid.
	pl := bytes.Split(bytes.TrimSpace(readFile(t, plainDir, "findings.ocsf.jsonl")), []byte("\n"))
	al := bytes.Split(bytes.TrimSpace(readFile(t, accDir, "findings.ocsf.jsonl")), []byte("\n"))
	if len(pl) != len(al) {
		t.Fatalf("%d OCSF lines, want %d", len(al), len(pl))
	}
	schema, err := ocsfcheck.Load(filepath.Join("..", "report", "testdata", "ocsf-1.8.0"), filepath.Join("..", "report", "testdata", "ocsf-1.8.0-bases"))
	if err != nil {
		t.Fatal(err)
	}
	suppressed := 0
	for i := range al {
		for _, err := range schema.CheckLine("detection_finding", al[i], ocsfcheck.Omitted()) {
			t.Errorf("OCSF line %d: %v", i+1, err)
		}
		if bytes.Contains(al[i], []byte(`"status_id":3,"status":"Suppressed"`)) {
			suppressed++
			if !bytes.Contains(al[i], []byte(`"uid":"`+acceptedKey+`"`)) {
				t.Errorf("OCSF line %d suppressed, not the accepted finding", i+1)
			}
		} else if !bytes.Equal(al[i], pl[i]) {
			t.Errorf("OCSF line %d differs", i+1)
		}
	}
	if suppressed != 1 {
		t.Errorf("%d suppressed OCSF lines, want 1", suppressed)
	}

	// report.html and the summary say so.
	html := string(readFile(t, accDir, "report.html"))
	for _, want := range []string{`<section id="acceptance">`, "<dt>Accepted</dt>", "CHG-1234", "licence migration", "audit.advanced-auditing-disabled:"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(string(readFile(t, plainDir, "report.html")), `id="acceptance"`) {
		t.Error("the plain report.html has an acceptance section")
	}
	for _, want := range []string{"Accepted: 1 of the ", "Expired accept entries (1)", "entry 2, expired 2026-11-01", "critical (accepted)"} {
		if !strings.Contains(acc.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, acc.stdout)
		}
	}
}

// TestScanAcceptBroadEntrySparesCritical: an entry naming only the rule
// does not accept the critical finding, so --fail-on critical still fails.
func TestScanAcceptBroadEntrySparesCritical(t *testing.T) {
	url, _ := startFixedSim(t, fixedNow)
	p := filepath.Join(t.TempDir(), "accept.json")
	body := `{"entries":[{"rule":"mail.app-collection","reason":"r","acceptedBy":"b","expires":"2027-01-31"}]}`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r, dir := scanFiles(t, url, "--fail-on", "critical", "--accept", p)
	if r.code != cli.ExitFindings {
		t.Fatalf("exit %d, want %d: a rule-only entry accepted a critical finding", r.code, cli.ExitFindings)
	}
	if bytes.Contains(readFile(t, dir, "findings.json"), []byte(`"accepted": {`)) {
		t.Error("a finding is marked accepted")
	}
}

// TestScanAcceptErrors: an accept file that cannot be used is a usage
// error on one line, before any scan.
func TestScanAcceptErrors(t *testing.T) {
	url, _ := startSim(t, nil)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, stderr string
	}{
		{"missing file", filepath.Join(dir, "nope.json"), "nope.json"},
		{"a directory", dir, "not a regular file"},
		{"not json", write("bad.json", "<html>"), "invalid accept file"},
		{"names nothing", write("empty.json", `{"entries":[{"reason":"r","acceptedBy":"b","expires":"2027-01-01"}]}`), "entry 1: names nothing"},
		{"unknown field", write("extra.json", `{"entries":[{"rule":"r.x","reason":"r","acceptedBy":"b","expires":"2027-01-01","colour\u001b[2J":1}]}`), "entry 1: unknown field"},
		{"no expiry", write("noexp.json", `{"entries":[{"rule":"r.x","reason":"r","acceptedBy":"b"}]}`), "entry 1: expires: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "scan", "--graph-url", url, "--auth", "none", "--accept", tc.file)
			if r.code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, cli.ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) || !strings.Contains(r.stderr, "--accept") {
				t.Errorf("stderr %q does not mention --accept and %q", r.stderr, tc.stderr)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 || strings.Contains(r.stderr, "\x1b") {
				t.Errorf("error is not one clean line:\n%q", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("a scan ran: %s", r.stdout)
			}
		})
	}
}

func csvRows(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// TestScanAcceptFailOnNew: --fail-on-new ignores an accepted new finding.
// The earlier scan is the plain scan without the critical finding, so
// that finding is new now.
func TestScanAcceptFailOnNew(t *testing.T) {
	url, _ := startFixedSim(t, fixedNow)
	tmp := t.TempDir()
	accFile := filepath.Join(tmp, "accept.json")
	if err := os.WriteFile(accFile, []byte(acceptFile), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, plainDir := scanFiles(t, url)
	if plain.code != cli.ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", plain.code, plain.stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(readFile(t, plainDir, "findings.json"), &doc); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, x := range doc["findings"].([]any) {
		if x.(map[string]any)["key"] != acceptedKey {
			kept = append(kept, x)
		}
	}
	if len(kept) != len(doc["findings"].([]any))-1 {
		t.Fatalf("the plain scan has no finding %s", acceptedKey)
	}
	doc["findings"] = kept
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	earlier := filepath.Join(tmp, "earlier.json")
	if err := os.WriteFile(earlier, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, _ := scanFiles(t, url, "--compare", earlier, "--fail-on-new", "critical"); r.code != cli.ExitFindings {
		t.Fatalf("without --accept: exit %d, want %d (a new critical finding)\nstderr:\n%s", r.code, cli.ExitFindings, r.stderr)
	}
	r, dir := scanFiles(t, url, "--compare", earlier, "--fail-on-new", "critical", "--accept", accFile)
	if r.code != cli.ExitOK {
		t.Fatalf("with --accept: exit %d, want %d (the new critical finding is accepted)\nstderr:\n%s", r.code, cli.ExitOK, r.stderr)
	}
	// The accepted findings.json is itself a valid earlier file.
	if again, _ := scanFiles(t, url, "--compare", filepath.Join(dir, "findings.json"), "--fail-on-new", "info"); again.code != cli.ExitOK {
		t.Fatalf("comparing with the accepted scan: exit %d\nstderr:\n%s", again.code, again.stderr)
	}
}
