package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/report/ocsfcheck"
)

func date(t testing.TB, s string) accept.Date {
	d, err := accept.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// acceptedDoc is hostileDoc with an accept file applied: entry 1 accepts
// the reply-URL finding (its reason and acceptor hostile text), entry 2
// names only the credential rule and so spares that critical finding,
// entry 3 has expired and would have accepted the dormant-account
// finding.
func acceptedDoc(t testing.TB) *report.Document {
	d := hostileDoc()
	f := &accept.File{Entries: []accept.Entry{
		{Key: "sp.reply-url-added:bbbbbbbb-0000-0000-0000-000000000002", Reason: hMarkdown + " " + hRTL, AcceptedBy: hScript, Expires: date(t, "2099-01-01")},
		{Rule: "sp.credential-added", Reason: "broad", AcceptedBy: "bob", Expires: date(t, "2099-01-01")},
		{Rule: "mfa.dormant-unregistered", SubjectID: "cccccccc-0000-0000-0000-000000000003", Reason: hANSI, AcceptedBy: hHyperlink, Expires: date(t, "2024-01-01")},
	}}
	d.Acceptance = accept.Apply(f, d.Findings, d.GeneratedAt)
	return d
}

// TestAcceptedGolden: every format marks the accepted finding and lists
// the expired entry; the rest is as without an accept file.
func TestAcceptedGolden(t *testing.T) {
	t.Parallel()
	d := acceptedDoc(t)
	if n := d.Acceptance.Accepted(); n != 1 {
		t.Fatalf("%d accepted, want 1", n)
	}
	for _, f := range formats() {
		t.Run(f.ext, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", "accepted.golden."+f.ext), render(t, f.ext, d))
		})
	}
}

// TestAcceptedJSON: findings.json gains "accepted" in the accepted finding
// and a top-level "acceptance", nothing else; it reads back byte for byte
// and is accepted as an earlier file by --compare.
func TestAcceptedJSON(t *testing.T) {
	t.Parallel()
	d := acceptedDoc(t)
	got := render(t, "json", d)
	plain := render(t, "json", hostileDoc())
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(plain, &b); err != nil {
		t.Fatal(err)
	}
	if _, ok := a["acceptance"]; !ok || len(a) != len(b)+1 {
		t.Fatalf("top-level fields %d (acceptance %v), want the %d of a plain file and acceptance", len(a), ok, len(b))
	}
	var fa, fb []map[string]json.RawMessage
	if err := json.Unmarshal(a["findings"], &fa); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b["findings"], &fb); err != nil {
		t.Fatal(err)
	}
	for i := range fb {
		_, marked := fa[i]["accepted"]
		if marked != (i == 1) {
			t.Errorf("finding %d: accepted present %v", i, marked)
		}
		delete(fa[i], "accepted")
		for k, v := range fb[i] {
			if !bytes.Equal(compact(t, v), compact(t, fa[i][k])) {
				t.Errorf("finding %d field %s changed", i, k)
			}
		}
		if len(fa[i]) != len(fb[i]) {
			t.Errorf("finding %d: fields %d, want %d", i, len(fa[i]), len(fb[i]))
		}
	}
	back, err := report.ReadJSON(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if again := render(t, "json", back); !bytes.Equal(again, got) {
		t.Errorf("ReadJSON then WriteJSON differs:\n%s", again)
	}
	d.Findings[3].Key = "signin.azure-ip:x" // hostileDoc's key of it is one --compare refuses
	prev, err := report.ReadPrevious(bytes.NewReader(render(t, "json", d)))
	if err != nil {
		t.Fatalf("ReadPrevious refuses an accepted findings.json: %v", err)
	}
	if len(prev.Findings) != len(d.Findings) {
		t.Fatalf("ReadPrevious: %d findings", len(prev.Findings))
	}
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestAcceptedCSV: the accepted column is last, empty but for the
// accepted finding, and its cell is safe.
func TestAcceptedCSV(t *testing.T) {
	t.Parallel()
	out := render(t, "csv", acceptedDoc(t))
	rows, err := csv.NewReader(bytes.NewReader(out[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(rows[0]) - 1
	if rows[0][last] != "accepted" {
		t.Fatalf("last column %q, want accepted", rows[0][last])
	}
	for i, row := range rows[1:] {
		cell := row[last]
		if (cell != "") != (i == 1) {
			t.Errorf("row %d: accepted %q", i+1, cell)
		}
		if !cellIsSafe(cell) {
			t.Errorf("row %d: unsafe accepted cell %q", i+1, cell)
		}
	}
	if !strings.HasPrefix(rows[2][last], "until 2099-01-01 by ") {
		t.Errorf("accepted cell %q", rows[2][last])
	}
}

// TestAcceptedOCSF: the accepted finding is status_id 3 Suppressed and
// not an alert, and passes the schema check; the others are as without an accept file.
func TestAcceptedOCSF(t *testing.T) {
	t.Parallel()
	lines := bytes.Split(bytes.TrimSpace(render(t, "ocsf.jsonl", acceptedDoc(t))), []byte("\n"))
	plain := bytes.Split(bytes.TrimSpace(render(t, "ocsf.jsonl", hostileDoc())), []byte("\n"))
	if len(lines) != len(plain) {
		t.Fatalf("%d lines, want %d", len(lines), len(plain))
	}
	schema, err := ocsfcheck.Load(ocsfSchemaDirs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		for _, err := range schema.CheckLine("detection_finding", l, ocsfcheck.Omitted()) {
			t.Errorf("line %d: %v", i+1, err)
		}
		var ev struct {
			StatusID int    `json:"status_id"`
			Status   string `json:"status"`
			IsAlert  bool   `json:"is_alert"`
		}
		if err := json.Unmarshal(l, &ev); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if ev.StatusID != 3 || ev.Status != "Suppressed" || ev.IsAlert {
				t.Errorf("accepted finding: %+v, want status 3 Suppressed, not an alert", ev)
			}
			continue
		}
		if !bytes.Equal(l, plain[i]) {
			t.Errorf("line %d differs from the plain report", i+1)
		}
	}
}
