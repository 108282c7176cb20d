package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/report/ocsfcheck"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// cf builds a finding of rule on subject id, observed at day (May 2024).
func cf(rule, id string, sev tenant.Severity, day int) tenant.Finding {
	return tenant.Finding{
		Rule: rule, Severity: sev, Title: "Title of " + rule,
		Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: id, Name: "user " + id},
		MITRE:      []string{"T1078.004"},
		ObservedAt: time.Date(2024, 5, day, 8, 0, 0, 0, time.UTC),
		Key:        rule + ":" + id,
		Evidence:   map[string]any{"ip": "20.190.128.1"},
	}
}

func findingsDoc(at int, fs ...tenant.Finding) *report.Document {
	return &report.Document{
		GeneratedAt: time.Date(2024, 5, at, 12, 0, 0, 0, time.UTC),
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  "Contoso",
		Version:     "1.0.0-test",
		Rules:       catalogue(),
		Findings:    fs,
	}
}

// viaFile writes d as findings.json and reads it back as --compare does.
func viaFile(t *testing.T, d *report.Document) *report.Document {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, d); err != nil {
		t.Fatal(err)
	}
	got, err := report.ReadPrevious(&b)
	if err != nil {
		t.Fatalf("ReadPrevious(WriteJSON(d)): %v", err)
	}
	return got
}

// TestCompare runs table cases over pairs of findings files: the earlier
// one goes through findings.json and ReadPrevious, as with scan --compare.
func TestCompare(t *testing.T) {
	t.Parallel()
	a1 := cf("signin.azure-ip", "a", tenant.SeverityLow, 1)
	a3 := cf("signin.azure-ip", "a", tenant.SeverityLow, 3) // the same condition, seen again later
	b := cf("sp.credential-added", "b", tenant.SeverityHigh, 2)
	c := cf("mfa.dormant-unregistered", "c", tenant.SeverityMedium, 3)
	tests := []struct {
		name              string
		earlier, current  []tenant.Finding
		wantNew, wantOpen []string
		wantResolved      []string
		wantFirstSeen     map[string]int // key → day of May
	}{
		{"first run after an empty one", nil, []tenant.Finding{a1, b}, []string{a1.Key, b.Key}, nil, nil, map[string]int{a1.Key: 1, b.Key: 2}},
		{"nothing changed", []tenant.Finding{a1, b}, []tenant.Finding{a1, b}, nil, []string{a1.Key, b.Key}, nil, map[string]int{a1.Key: 1, b.Key: 2}},
		{"one new", []tenant.Finding{a1}, []tenant.Finding{a3, c}, []string{c.Key}, []string{a1.Key}, nil, map[string]int{a1.Key: 1, c.Key: 3}},
		{"one resolved", []tenant.Finding{a1, b}, []tenant.Finding{b}, nil, []string{b.Key}, []string{a1.Key}, map[string]int{b.Key: 2}},
		{"all resolved", []tenant.Finding{a1, b}, nil, nil, nil, []string{a1.Key, b.Key}, nil},
		{"new, open and resolved", []tenant.Finding{a1, b}, []tenant.Finding{c, a3}, []string{c.Key}, []string{a1.Key}, []string{b.Key}, map[string]int{c.Key: 3, a1.Key: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			earlier := viaFile(t, findingsDoc(2, tc.earlier...))
			ch := report.Compare(earlier, tc.current)
			var gotNew, gotOpen, gotResolved []string
			first := map[string]int{}
			for i, fc := range ch.Findings {
				if fc.Key != tc.current[i].Key {
					t.Errorf("change %d is for %s, want %s", i, fc.Key, tc.current[i].Key)
				}
				switch fc.Change {
				case report.ChangeNew:
					gotNew = append(gotNew, fc.Key)
				case report.ChangeOpen:
					gotOpen = append(gotOpen, fc.Key)
				default:
					t.Errorf("%s: change %q", fc.Key, fc.Change)
				}
				first[fc.Key] = fc.FirstSeen.Day()
			}
			for _, f := range ch.Resolved {
				gotResolved = append(gotResolved, f.Key)
			}
			slices.Sort(gotNew)
			slices.Sort(gotOpen)
			slices.Sort(gotResolved)
			for _, w := range [][]string{tc.wantNew, tc.wantOpen, tc.wantResolved} {
				slices.Sort(w)
			}
			if diff := cmp.Diff([][]string{tc.wantNew, tc.wantOpen, tc.wantResolved}, [][]string{gotNew, gotOpen, gotResolved}); diff != "" {
				t.Errorf("[new open resolved] (-want +got):\n%s", diff)
			}
			if len(tc.wantFirstSeen) > 0 {
				if diff := cmp.Diff(tc.wantFirstSeen, first); diff != "" {
					t.Errorf("first seen, day of May (-want +got):\n%s", diff)
				}
			}
			if !ch.ComparedWith.Equal(earlier.GeneratedAt) {
				t.Errorf("comparedWith = %v, want %v", ch.ComparedWith, earlier.GeneratedAt)
			}
		})
	}
}

// TestCompareCarriesFirstSeen: over three scans, an open finding keeps the
// first scan's time, read from the second file's changes.
func TestCompareCarriesFirstSeen(t *testing.T) {
	t.Parallel()
	first := findingsDoc(1, cf("signin.azure-ip", "a", tenant.SeverityLow, 1))
	second := findingsDoc(2, cf("signin.azure-ip", "a", tenant.SeverityLow, 2))
	second.Changes = report.Compare(viaFile(t, first), second.Findings)
	third := report.Compare(viaFile(t, second), []tenant.Finding{cf("signin.azure-ip", "a", tenant.SeverityLow, 3)})
	if got := third.Findings[0]; got.Change != report.ChangeOpen || got.FirstSeen.Day() != 1 {
		t.Errorf("third scan: %+v, want open, first seen on May 1", got)
	}
}

func comparedDoc() *report.Document {
	earlier := findingsDoc(1, cf("signin.azure-ip", "a", tenant.SeverityLow, 1), cf("sp.credential-added", "b", tenant.SeverityHigh, 1))
	d := findingsDoc(2, cf("mfa.dormant-unregistered", "c", tenant.SeverityMedium, 2), cf("signin.azure-ip", "a", tenant.SeverityLow, 2))
	d.Findings[0].Subject.Name = hANSI + hRTL // hostile text in the change lists too
	d.Changes = report.Compare(earlier, d.Findings)
	return d
}

// TestComparedGolden: a compared document in every format leads with what
// changed.
func TestComparedGolden(t *testing.T) {
	t.Parallel()
	d := comparedDoc()
	for _, f := range formats() {
		t.Run(f.ext, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", "compared.golden."+f.ext), render(t, f.ext, d))
		})
	}
	txt := string(render(t, "txt", d))
	if i, j := strings.Index(txt, "Since the scan of 2024-05-01 12:00:00 UTC: 1 new, 1 still open, 1 resolved"), strings.Index(txt, "Findings:"); i < 0 || j < i {
		t.Errorf("summary does not lead with the changes:\n%s", txt)
	}
	html := string(render(t, "html", d))
	if i, j := strings.Index(html, `<section id="changes">`), strings.Index(html, `<section id="summary">`); i < 0 || j < i {
		t.Error("report.html does not open with the changes")
	}
}

// TestComparedJSON: findings.json gains a "changes" object and nothing
// else; the file reads back, also as an earlier file.
func TestComparedJSON(t *testing.T) {
	t.Parallel()
	out := render(t, "json", comparedDoc())
	var top struct {
		Findings []json.RawMessage `json:"findings"`
		Changes  struct {
			ComparedWith string                         `json:"comparedWith"`
			Counts       map[string]int                 `json:"counts"`
			Findings     []struct{ Key, Change string } `json:"findings"`
			Resolved     []struct{ Key string }         `json:"resolved"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(out, &top); err != nil {
		t.Fatal(err)
	}
	c := top.Changes
	if c.ComparedWith != "2024-05-01T12:00:00Z" || c.Counts["new"] != 1 || c.Counts["open"] != 1 || c.Counts["resolved"] != 1 {
		t.Errorf("changes = %+v", c)
	}
	if len(c.Findings) != 2 || c.Findings[0].Change != "new" || c.Findings[1].Change != "open" || len(c.Resolved) != 1 || c.Resolved[0].Key != "sp.credential-added:b" {
		t.Errorf("changes = %+v", c)
	}
	back, err := report.ReadPrevious(bytes.NewReader(out))
	if err != nil || back.Changes == nil || len(back.Changes.Resolved) != 1 {
		t.Fatalf("ReadPrevious: %v, %+v", err, back)
	}
	rt, err := report.ReadJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if again := render(t, "json", rt); !bytes.Equal(again, out) {
		t.Errorf("WriteJSON(ReadJSON(x)) != x:\n%s", cmp.Diff(string(out), string(again)))
	}
}

// TestComparedOCSF: statuses follow the changes (new → New/Create, open →
// In Progress/Update, resolved → Resolved/Close, also emitted), and every
// line passes the schema check.
func TestComparedOCSF(t *testing.T) {
	t.Parallel()
	schema, err := ocsfcheck.Load(ocsfSchemaDirs...)
	if err != nil {
		t.Fatal(err)
	}
	lines := ocsfLines(t, comparedDoc())
	want := []struct {
		uid              string
		activity, status int
		alert            bool
	}{
		{"mfa.dormant-unregistered:c", 1, 1, true},
		{"signin.azure-ip:a", 2, 2, true},
		{"sp.credential-added:b", 3, 4, false},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, line := range lines {
		for _, err := range schema.CheckLine("detection_finding", line, ocsfcheck.Omitted()) {
			t.Errorf("line %d: %v", i+1, err)
		}
		var ev struct {
			ActivityID  int  `json:"activity_id"`
			StatusID    int  `json:"status_id"`
			IsAlert     bool `json:"is_alert"`
			FindingInfo struct {
				UID       string `json:"uid"`
				FirstSeen int64  `json:"first_seen_time"`
			} `json:"finding_info"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if ev.FindingInfo.UID != w.uid || ev.ActivityID != w.activity || ev.StatusID != w.status || ev.IsAlert != w.alert {
			t.Errorf("line %d = %s activity %d status %d alert %v, want %+v", i+1, ev.FindingInfo.UID, ev.ActivityID, ev.StatusID, ev.IsAlert, w)
		}
		if w.uid == "signin.azure-ip:a" && ev.FindingInfo.FirstSeen != time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).UnixMilli() {
			t.Errorf("open finding first seen %d, want the earlier scan's observedAt", ev.FindingInfo.FirstSeen)
		}
	}
}

// TestReadPreviousErrors: the earlier file is untrusted; each defect is a
// one-line error wrapping ErrPrevious.
func TestReadPreviousErrors(t *testing.T) {
	t.Parallel()
	const f = `{"rule":"r.x","severity":"low","title":"","subject":{"type":"user","id":"1","name":""},"evidence":{},"mitre":[],"observedAt":"2024-05-01T00:00:00Z","key":"r.x:1"}`
	tests := map[string]string{
		"empty":              "",
		"not json":           "findings",
		"array":              "[]",
		"no generatedAt":     `{"findings":[]}`,
		"no findings":        `{"generatedAt":"2024-05-01T00:00:00Z"}`,
		"null findings":      `{"generatedAt":"2024-05-01T00:00:00Z","findings":null}`,
		"unknown field":      `{"generatedAt":"2024-05-01T00:00:00Z","findings":[],"extra":1}`,
		"unknown in finding": `{"generatedAt":"2024-05-01T00:00:00Z","findings":[{"rule":"r.x","severity":"low","key":"r.x:1","colour":"red"}]}`,
		"bad severity":       `{"generatedAt":"2024-05-01T00:00:00Z","findings":[{"rule":"r.x","severity":"urgent","key":"r.x:1"}]}`,
		"no severity":        `{"generatedAt":"2024-05-01T00:00:00Z","findings":[{"rule":"r.x","key":"r.x:1"}]}`,
		"no key":             `{"generatedAt":"2024-05-01T00:00:00Z","findings":[{"rule":"r.x","severity":"low"}]}`,
		"foreign key":        `{"generatedAt":"2024-05-01T00:00:00Z","findings":[{"rule":"r.x","severity":"low","key":"other:1\u001b[2J"}]}`,
		"duplicate key":      `{"generatedAt":"2024-05-01T00:00:00Z","findings":[` + f + "," + f + `]}`,
		"trailing data":      `{"generatedAt":"2024-05-01T00:00:00Z","findings":[]} {}`,
		"truncated":          `{"generatedAt":"2024-05-01T00:00:00Z","findings":[`,
		"changes mismatch":   `{"generatedAt":"2024-05-01T00:00:00Z","findings":[` + f + `],"changes":{"comparedWith":"2024-04-01T00:00:00Z","counts":{"new":1,"open":0,"resolved":0},"findings":[],"resolved":[]}}`,
		"bad change":         `{"generatedAt":"2024-05-01T00:00:00Z","findings":[` + f + `],"changes":{"comparedWith":"2024-04-01T00:00:00Z","counts":{"new":1,"open":0,"resolved":0},"findings":[{"key":"r.x:1","change":"resolved","firstSeen":"2024-05-01T00:00:00Z"}],"resolved":[]}}`,
		"too large":          `{"generatedAt":"2024-05-01T00:00:00Z","findings":[],"skipped":[{"rule":"` + strings.Repeat("x", report.MaxPreviousBytes) + `"}]}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := report.ReadPrevious(strings.NewReader(in))
			if err == nil {
				t.Fatalf("ReadPrevious = %+v, nil; want an error", d)
			}
			if !errors.Is(err, report.ErrPrevious) {
				t.Errorf("error %v does not wrap ErrPrevious", err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x1b") || len(msg) > 400 {
				t.Errorf("error is not one short, clean line: %q", msg)
			}
		})
	}
	if _, err := report.ReadPrevious(strings.NewReader(`{"generatedAt":"2024-05-01T00:00:00Z","findings":[` + f + `]}`)); err != nil {
		t.Errorf("a minimal valid file: %v", err)
	}
}

// FuzzReadPrevious: no input panics; whatever ReadPrevious accepts holds
// unique keys with valid severities, can be compared and written, and is
// accepted again once written.
func FuzzReadPrevious(f *testing.F) {
	for _, d := range []*report.Document{comparedDoc(), hostileDoc(), emptyDoc()} {
		var b bytes.Buffer
		if err := report.WriteJSON(&b, d); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte(`{"generatedAt":"2024-05-01T00:00:00Z","findings":[]}`))
	f.Add([]byte(`{"generatedAt":"2024-05-01T00:00:00Z","findings":[{"rule":"r.x","severity":"low","key":"r.x:1"}],"changes":{"comparedWith":"2024-04-01T00:00:00Z","counts":{"new":1,"open":0,"resolved":0},"findings":[{"key":"r.x:1","change":"new","firstSeen":"2024-05-01T00:00:00Z"}],"resolved":[]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := report.ReadPrevious(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, report.ErrPrevious) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q: not ErrPrevious or not one line", err)
			}
			return
		}
		keys := map[string]bool{}
		for _, x := range d.Findings {
			if keys[x.Key] || !x.Severity.Valid() || !strings.HasPrefix(x.Key, x.Rule+":") {
				t.Fatalf("accepted a bad finding %+v", x)
			}
			keys[x.Key] = true
		}
		ch := report.Compare(d, d.Findings)
		if n, o, r := ch.Count(); n != 0 || o != len(d.Findings) || r != 0 {
			t.Fatalf("a file compared with itself: %d new, %d open, %d resolved", n, o, r)
		}
		var b bytes.Buffer
		if err := report.WriteJSON(&b, d); err != nil {
			return // evidence a file can hold but not re-encode (none known)
		}
		if _, err := report.ReadPrevious(&b); err != nil {
			t.Fatalf("a written file is not accepted: %v", err)
		}
	})
}
