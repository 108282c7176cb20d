package accept_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/accept"
	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// check compares got with testdata/name (go test -update rewrites it).
func check(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// parseOutcome is one line: the file's entries as JSON, or its error.
func parseOutcome(b []byte) string {
	f, err := accept.Parse(bytes.NewReader(b))
	if err != nil {
		if !errors.Is(err, accept.ErrInvalid) || strings.ContainsAny(err.Error(), "\r\n") {
			return fmt.Sprintf("BAD ERROR (not ErrInvalid or not one line): %q", err)
		}
		return "error: " + err.Error()
	}
	out, err := json.Marshal(f)
	if err != nil {
		return "BAD: " + err.Error()
	}
	return "ok: " + string(out)
}

// TestParse reads every testdata/parse file; testdata/parse.golden holds
// the outcome of each, one line per file.
func TestParse(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "parse", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no testdata/parse files: %v", err)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		in, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", filepath.Base(n), parseOutcome(in))
	}
	check(t, "parse.golden", b.Bytes())
}

// TestParseLimits: the size, entry-count and field-length caps.
func TestParseLimits(t *testing.T) {
	entry := `{"rule":"r.x","reason":"x","acceptedBy":"y","expires":"2027-01-01"}`
	many := func(n int) string {
		return `{"entries":[` + strings.TrimSuffix(strings.Repeat(entry+",", n), ",") + `]}`
	}
	tests := []struct {
		name, in, wantErr string
	}{
		{"at the entry cap", many(accept.MaxEntries), ""},
		{"over the entry cap", many(accept.MaxEntries + 1), "5001 entries, at most 5000"},
		{"over the size cap", `{"entries":[],"pad":"` + strings.Repeat("x", accept.MaxFileBytes) + `"}`, "larger than 1024 KiB"},
		{"field at the cap", `{"entries":[{"rule":"r.x","reason":"` + strings.Repeat("x", accept.MaxFieldBytes) + `","acceptedBy":"y","expires":"2027-01-01"}]}`, ""},
		{"field over the cap", `{"entries":[{"rule":"r.x","reason":"` + strings.Repeat("x", accept.MaxFieldBytes+1) + `","acceptedBy":"y","expires":"2027-01-01"}]}`, "entry 1: reason: longer than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := accept.Parse(strings.NewReader(tt.in))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"svc-ci", "svc-ci", true},
		{"svc-ci", "SVC-CI", true},
		{"svc-ci", "svc-ci2", false},
		{"svc-*", "svc-", true},
		{"svc-*", "svc-backup", true},
		{"svc-*", "xsvc-backup", false},
		{"*@contoso.example", "Alice@Contoso.Example", true},
		{"*@contoso.example", "alice@contoso.example.evil", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*b*c", "axxbyybzzc", true},
		{"*mid*", "a-mid-b", true},
		{"*mid*", "a-mi-d-b", false},
		{"a?c", "abc", false},       // '?' is literal
		{"a?c", "a?c", true},        // '?' is literal
		{"[ab]", "a", false},        // brackets are literal
		{"a.c", "abc", false},       // '.' is literal
		{"ǅ*", "ǆx", true},          // Unicode simple folding
		{"K*", "\u212aelvin", true}, // KELVIN SIGN folds to k
	}
	for _, tt := range tests {
		if got := accept.Glob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// matcherFindings are the findings of testdata/apply.golden.
func matcherFindings() []tenant.Finding {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	mk := func(rule string, sev tenant.Severity, typ tenant.SubjectType, id, name string) tenant.Finding {
		return tenant.Finding{Rule: rule, Severity: sev, Title: rule, Subject: tenant.Subject{Type: typ, ID: id, Name: name},
			ObservedAt: at, Key: rule + ":" + string(typ) + ":" + id}
	}
	return []tenant.Finding{
		mk("user.dormant", tenant.SeverityMedium, tenant.SubjectUser, "u1", "svc-backup@contoso.example"),
		mk("user.dormant", tenant.SeverityMedium, tenant.SubjectUser, "u2", "alice@contoso.example"),
		mk("app.credential-added", tenant.SeverityCritical, tenant.SubjectApplication, "a1", "CI deploy"),
		mk("app.credential-added", tenant.SeverityCritical, tenant.SubjectApplication, "a2", "Mail reader"),
		mk("app.mail-permission", tenant.SeverityHigh, tenant.SubjectApplication, "A1", "CI deploy"),
		mk("signin.azure-ip", tenant.SeverityHigh, tenant.SubjectUser, "u3", "svc-lab@contoso.example"),
	}
}

// TestApply: the matcher's decisions over a table of entries, against
// testdata/apply.golden (the Result as JSON).
func TestApply(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "apply-accept.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := accept.Parse(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fs := matcherFindings()
	before := fmt.Sprint(fs)
	r := accept.Apply(f, fs, now)
	if fmt.Sprint(fs) != before {
		t.Fatal("Apply changed the findings")
	}
	type row struct {
		Key  string       `json:"key"`
		Mark *accept.Mark `json:"accepted"`
	}
	out := struct {
		Findings []row            `json:"findings"`
		Applied  []accept.Applied `json:"applied"`
		Expired  []accept.Expired `json:"expired"`
		Accepted int              `json:"acceptedCount"`
	}{Applied: r.Applied, Expired: r.Expired, Accepted: r.Accepted()}
	for i, fd := range fs {
		out.Findings = append(out.Findings, row{fd.Key, r.MarkOf(i)})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	check(t, "apply.golden", append(b, '\n'))
}

// TestApplyExpiry: an entry applies until the start (UTC) of its expires
// day and not from then on.
func TestApplyExpiry(t *testing.T) {
	e := accept.Entry{Key: "user.dormant:user:u1", Reason: "r", AcceptedBy: "b"}
	var err error
	if e.Expires, err = accept.ParseDate("2026-12-08"); err != nil {
		t.Fatal(err)
	}
	f := &accept.File{Entries: []accept.Entry{e}}
	fs := matcherFindings()[:1]
	tests := []struct {
		now      time.Time
		accepted bool
	}{
		{time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2026, 12, 8, 0, 59, 59, 0, time.FixedZone("CET", 3600)), true}, // 23:59:59 UTC on the 7th
		{time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		r := accept.Apply(f, fs, tt.now)
		if got := r.MarkOf(0) != nil; got != tt.accepted {
			t.Errorf("at %v: accepted %v, want %v", tt.now, got, tt.accepted)
		}
		if got := len(r.Expired) == 1; got == tt.accepted {
			t.Errorf("at %v: expired entries %v", tt.now, r.Expired)
		}
	}
	if r := accept.Apply(nil, fs, time.Now()); r.Accepted() != 0 || len(r.Marks) != 1 {
		t.Errorf("nil file: %+v", r)
	}
}

// FuzzParse: no input panics; whatever Parse accepts is within the caps,
// names something in every entry and survives a round trip; every error
// is ErrInvalid and one line.
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.json"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := accept.Parse(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, accept.ErrInvalid) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error %q: not ErrInvalid or not one line", err)
			}
			return
		}
		if len(file.Entries) > accept.MaxEntries {
			t.Fatalf("%d entries", len(file.Entries))
		}
		for i, e := range file.Entries {
			if e.Rule == "" && e.SubjectID == "" && e.SubjectName == "" && e.Key == "" {
				t.Fatalf("entry %d names nothing", i+1)
			}
			if e.Reason == "" || e.AcceptedBy == "" || e.Expires.IsZero() {
				t.Fatalf("entry %d lacks a required field: %+v", i+1, e)
			}
		}
		b, err := json.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		again, err := accept.Parse(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip differs:\n%s\n%s", b, b2)
		}
		accept.Apply(file, []tenant.Finding{{Rule: "r.x", Severity: tenant.SeverityCritical, Key: "r.x:1", Subject: tenant.Subject{ID: "1", Name: "n"}}}, time.Now())
	})
}
