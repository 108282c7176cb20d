package report_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tenantwatch/tenantwatch/shared/golden"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/incident"
	"github.com/tenantwatch/tenantwatch/shared/report"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

var (
	generated = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	since     = time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
)

// catalogue is a rule catalogue like detect.All's.
func catalogue() []tenant.Rule {
	return []tenant.Rule{
		{ID: "sp.credential-added", Title: "Credential added to a service principal", Description: "A key or password credential was added to a service principal.", Severity: tenant.SeverityHigh, MITRE: []string{"T1098.001"}, Sources: []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceServicePrincipals}},
		{ID: "sp.reply-url-added", Title: "Reply URL added", Description: "A reply URL was added to an application.", Severity: tenant.SeverityMedium, MITRE: []string{"T1098"}, Sources: []tenant.Source{tenant.SourceDirectoryAudits}},
		{ID: "mfa.dormant-unregistered", Title: "Dormant account without MFA", Description: "An enabled account has not signed in for 90 days and has no MFA method.", Severity: tenant.SeverityMedium, MITRE: []string{"T1078.004", "T1556.006"}, Sources: []tenant.Source{tenant.SourceUsers, tenant.SourceSignInActivity, tenant.SourceRegistrations}},
		{ID: "signin.azure-ip", Title: "Sign-in from Azure address space", Description: "A user signed in from an Azure datacentre address.", Severity: tenant.SeverityLow, MITRE: []string{"T1078.004"}, Sources: []tenant.Source{tenant.SourceSignIns, tenant.SourceAzureRanges}},
		{ID: "audit.advanced-auditing-disabled", Title: "Advanced Auditing disabled for a user", Description: "The Microsoft 365 Advanced Auditing service plan is disabled on a licensed user.", Severity: tenant.SeverityHigh, MITRE: []string{"T1562.008"}, Sources: []tenant.Source{tenant.SourceUsers, tenant.SourceSubscribedSkus}},
		{ID: "app.mail-permission-granted", Title: "Mail permission granted to an application", Description: "An application was granted Mail.Read or full_access_as_app.", Severity: tenant.SeverityHigh, MITRE: []string{"T1098.003"}, Sources: []tenant.Source{tenant.SourceResourceGrants}},
	}
}

// Hostile strings from the brief: HTML, markdown, spreadsheet formulas,
// terminal escapes and bidirectional overrides.
const (
	hScript    = `<script>alert(1)</script>`
	hImg       = `"><img src=x onerror=alert(1)>`
	hMarkdown  = `[click](https://evil.example)`
	hHyperlink = `=HYPERLINK("https://evil.example","x")`
	hDDE       = `+cmd|' /C calc'!A0`
	hAt        = `@SUM(1)`
	hMinus     = `-1+1`
	hTab       = "\t=1+1"
	hCR        = "\r=1+1"
	hANSI      = "\x1b[2J\x1b[31mroot\x1b[0m"
	hRTL       = "invoice\u202Efdp.exe"
	hFullwidth = "＝1+1"
	hLeadSpace = "  =1+1"
	hBell      = "bell\a and C1 \u009b31m and OSC \u009d0;x\u0007 and isolate \u2066x\u2069"
	hZero      = "zero\u200Bwidth\u200Cnon\u200Djoiner\u2060word\uFEFFmark"
)

func hostileDoc() *report.Document {
	return &report.Document{
		GeneratedAt: generated,
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  "Contoso " + hScript,
		Since:       since,
		Version:     "1.0.0-test",
		Rules:       catalogue(),
		Findings: []tenant.Finding{
			{
				Rule: "sp.credential-added", Severity: tenant.SeverityCritical, Title: "Credential added to a service principal",
				Subject:    tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "aaaaaaaa-0000-0000-0000-000000000001", Name: hScript},
				MITRE:      []string{"T1098.001", "javascript:alert(1)", "T1098/../../x"},
				ObservedAt: time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC),
				Key:        "sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key-1",
				Evidence: map[string]any{
					"credentialName": hImg,
					"actor":          hHyperlink,
					"credentials": []map[string]any{
						{"keyId": "key-1", "displayName": hDDE, "type": "AsymmetricX509Cert"},
						{"keyId": "key-2", "displayName": "backup", "end": "2026-01-01T00:00:00Z"},
					},
				},
			},
			{
				Rule: "sp.reply-url-added", Severity: tenant.SeverityHigh, Title: "Reply URL added",
				Subject:    tenant.Subject{Type: tenant.SubjectApplication, ID: "bbbbbbbb-0000-0000-0000-000000000002", Name: hMarkdown},
				MITRE:      []string{"T1098"},
				ObservedAt: time.Date(2024, 4, 29, 23, 59, 59, 0, time.UTC),
				Key:        "sp.reply-url-added:bbbbbbbb-0000-0000-0000-000000000002",
				Evidence: map[string]any{
					"added":     []string{"https://evil.example/cb?a=1&b=<x>", "javascript:alert(1)", hMarkdown},
					"initiator": hDDE,
				},
			},
			{
				Rule: "mfa.dormant-unregistered", Severity: tenant.SeverityMedium, Title: "Dormant account without MFA",
				Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: "cccccccc-0000-0000-0000-000000000003", Name: hAt},
				MITRE:      []string{"T1078.004"},
				ObservedAt: generated,
				Key:        "mfa.dormant-unregistered:cccccccc-0000-0000-0000-000000000003",
				Evidence: map[string]any{
					"upn":            hMinus,
					"lastSignIn":     nil,
					"methods":        []string{},
					"daysDormant":    120,
					"ratio":          1.5,
					"enabled":        true,
					"empty":          "",
					"nested":         map[string]any{"a": map[string]any{"b": []any{1, "two", map[string]any{"c": hANSI}}}},
					"emptyMap":       map[string]any{},
					hScript + " key": "hostile key",
				},
			},
			{
				Rule: "signin.azure-ip", Severity: tenant.SeverityLow, Title: "Sign-in from Azure address space",
				Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: hTab, Name: hANSI},
				MITRE:      []string{"T1078.004"},
				ObservedAt: time.Date(2024, 4, 15, 1, 2, 3, 0, time.UTC),
				Key:        hCR,
				Evidence:   map[string]any{"ip": "20.190.128.1", "tag": hFullwidth, "app": hRTL, "note": hLeadSpace, "multi": "line one\nline two\ttabbed"},
			},
			{
				Rule: "audit.advanced-auditing-disabled", Severity: tenant.SeverityInfo, Title: hRTL,
				Subject:    tenant.Subject{Type: tenant.SubjectUser, ID: "dddddddd-0000-0000-0000-000000000004", Name: hBell + " " + hZero + " " + hRTL},
				ObservedAt: time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC),
				Key:        "audit.advanced-auditing-disabled:dddddddd-0000-0000-0000-000000000004",
			},
		},
		Skipped: []tenant.Skipped{{Rule: "app.mail-permission-granted", Reason: "appRoleAssignedTo: " + hImg + " " + hZero}},
		// An incident written by hand, so that its every string is hostile.
		Incidents: []incident.Incident{{
			ID: "inc-" + hScript, Title: hImg + " → " + hRTL, Severity: tenant.SeverityCritical, Raised: true,
			Techniques: []string{"T1098.001", "javascript:alert(1)", "T1078.004"},
			FirstSeen:  time.Date(2024, 4, 29, 23, 59, 59, 0, time.UTC),
			LastSeen:   time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC),
			Timeline: []incident.Step{
				{Time: time.Date(2024, 4, 29, 23, 59, 59, 0, time.UTC), Key: "sp.reply-url-added:bbbbbbbb-0000-0000-0000-000000000002", Rule: "sp.reply-url-added", Title: hMarkdown,
					Subject: tenant.Subject{Type: tenant.SubjectApplication, ID: "bbbbbbbb-0000-0000-0000-000000000002", Name: hMarkdown}},
				{Time: time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC), Key: "sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key-1", Rule: "sp.credential-added", Title: hANSI,
					Subject: tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "aaaaaaaa-0000-0000-0000-000000000001", Name: hScript}},
				{Time: generated, Key: "mfa.dormant-unregistered:cccccccc-0000-0000-0000-000000000003", Rule: "mfa.dormant-unregistered", Title: hBell, Posture: true,
					Subject: tenant.Subject{Type: tenant.SubjectUser, ID: "cccccccc-0000-0000-0000-000000000003", Name: hAt}},
			},
			Entities: []string{"upn:" + hHyperlink, "ip:20.190.128.1", "app:" + hZero},
			Findings: []string{"sp.reply-url-added:bbbbbbbb-0000-0000-0000-000000000002", "sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key-1", "mfa.dormant-unregistered:cccccccc-0000-0000-0000-000000000003"},
		}},
		Unavailable: map[tenant.Source]string{
			tenant.SourceResourceGrants: "access denied: " + hHyperlink + " " + hANSI,
		},
	}
}

func emptyDoc() *report.Document {
	return &report.Document{
		GeneratedAt: generated,
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  "Contoso",
		Since:       since,
		Version:     "1.0.0-test",
		Rules:       catalogue(),
	}
}

func skippedDoc() *report.Document {
	return &report.Document{
		GeneratedAt: generated,
		TenantID:    "11111111-2222-3333-4444-555555555555",
		TenantName:  "Fabrikam",
		Since:       since,
		Version:     "1.0.0-test",
		Rules:       catalogue(),
		Findings: []tenant.Finding{{
			Rule: "sp.credential-added", Severity: tenant.SeverityHigh, Title: "Credential added to a service principal",
			Subject:    tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: "eeeeeeee-0000-0000-0000-000000000005", Name: "Backup Service"},
			MITRE:      []string{"T1098.001"},
			ObservedAt: time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC),
			Key:        "sp.credential-added:eeeeeeee-0000-0000-0000-000000000005:k",
			Evidence:   map[string]any{"keyId": "k", "type": "Password"},
		}},
		Skipped: []tenant.Skipped{
			{Rule: "mfa.dormant-unregistered", Reason: "signInActivity: Entra ID P1 licence required"},
			{Rule: "signin.azure-ip", Reason: "azureIpRanges: no Service Tags file given"},
			{Rule: "app.mail-permission-granted", Reason: "appRoleAssignedTo: access denied"},
			{Rule: "legacy.removed-rule", Reason: "rule not in the catalogue"},
		},
		Unavailable: map[tenant.Source]string{
			tenant.SourceSignInActivity: "Entra ID P1 licence required",
			tenant.SourceAzureRanges:    "no Service Tags file given",
			tenant.SourceResourceGrants: "access denied",
		},
	}
}

// docs lists the golden documents.
func docs() []struct {
	name string
	doc  *report.Document
} {
	return []struct {
		name string
		doc  *report.Document
	}{
		{"hostile", hostileDoc()},
		{"empty", emptyDoc()},
		{"skipped", skippedDoc()},
	}
}

// formats lists the writers and golden file extensions.
func formats() []struct {
	ext   string
	write func(*bytes.Buffer, *report.Document) error
} {
	return []struct {
		ext   string
		write func(*bytes.Buffer, *report.Document) error
	}{
		{"json", func(b *bytes.Buffer, d *report.Document) error { return report.WriteJSON(b, d) }},
		{"csv", func(b *bytes.Buffer, d *report.Document) error { return report.WriteCSV(b, d) }},
		{"html", func(b *bytes.Buffer, d *report.Document) error { return report.WriteHTML(b, d) }},
		{"txt", func(b *bytes.Buffer, d *report.Document) error { return report.WriteText(b, d) }},
		{"ocsf.jsonl", func(b *bytes.Buffer, d *report.Document) error { return report.WriteOCSF(b, d) }},
	}
}

func render(t *testing.T, ext string, d *report.Document) []byte {
	t.Helper()
	for _, f := range formats() {
		if f.ext == ext {
			var b bytes.Buffer
			if err := f.write(&b, d); err != nil {
				t.Fatalf("write %s: %v", ext, err)
			}
			return b.Bytes()
		}
	}
	t.Fatalf("unknown format %s", ext)
	return nil
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}

func TestGolden(t *testing.T) {
	for _, d := range docs() {
		for _, f := range formats() {
			t.Run(d.name+"."+f.ext, func(t *testing.T) {
				got := render(t, f.ext, d.doc)
				checkGolden(t, filepath.Join("testdata", d.name+".golden."+f.ext), got)
				// Rendering is deterministic.
				if again := render(t, f.ext, d.doc); !bytes.Equal(got, again) {
					t.Error("second rendering differs from the first")
				}
			})
		}
	}
}

// TestRender: Render gives the four files in order, each with its media
// type and the golden bytes of its writer; a nil document gives none.
func TestRender(t *testing.T) {
	t.Parallel()
	type file struct{ Name, ContentType, Golden string }
	want := []file{
		{report.JSONFile, "application/json", "json"},
		{report.CSVFile, "text/csv; charset=utf-8", "csv"},
		{report.HTMLFile, "text/html; charset=utf-8", "html"},
		{report.OCSFFile, "application/jsonl", "ocsf.jsonl"},
	}
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			files, err := report.Render(d.doc)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != len(want) {
				t.Fatalf("Render gave %d files, want %d", len(files), len(want))
			}
			for i, w := range want {
				got := files[i]
				if got.Name != w.Name || got.ContentType != w.ContentType {
					t.Errorf("file %d = %s (%s), want %s (%s)", i, got.Name, got.ContentType, w.Name, w.ContentType)
				}
				golden, err := os.ReadFile(filepath.Join("testdata", d.name+".golden."+w.Golden))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Data, golden) {
					t.Errorf("%s differs from testdata/%s.golden.%s", got.Name, d.name, w.Golden)
				}
			}
		})
	}
	if files, err := report.Render(nil); err == nil || files != nil {
		t.Errorf("Render(nil) = %d files, %v; want none and an error", len(files), err)
	}
}

func TestWritersRejectNil(t *testing.T) {
	t.Parallel()
	for _, f := range formats() {
		var b bytes.Buffer
		if err := f.write(&b, nil); err == nil {
			t.Errorf("%s: nil document accepted", f.ext)
		}
	}
	if err := report.WriteDir(t.TempDir(), nil); err == nil {
		t.Error("WriteDir: nil document accepted")
	}
}

func TestZeroDocument(t *testing.T) {
	t.Parallel()
	for _, f := range formats() {
		var b bytes.Buffer
		if err := f.write(&b, &report.Document{}); err != nil {
			t.Errorf("%s: zero document: %v", f.ext, err)
		}
	}
}

// ---- JSON ----

func TestJSONContract(t *testing.T) {
	t.Parallel()
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			out := render(t, "json", d.doc)
			if !bytes.HasSuffix(out, []byte("}\n")) || bytes.HasSuffix(out, []byte("\n\n")) {
				t.Error("findings.json does not end with exactly one newline")
			}
			if !bytes.HasPrefix(out, []byte("{\n  \"generatedAt\": ")) {
				t.Errorf("findings.json does not start with a 2-space indented generatedAt: %.40q", out)
			}
			if bytes.ContainsAny(out, "<>") || bytes.Contains(out, []byte("&")) {
				t.Error("findings.json contains raw <, > or &; want \\u003c, \\u003e, \\u0026")
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(out, &top); err != nil {
				t.Fatal(err)
			}
			keys := slices.Sorted(maps.Keys(top))
			if diff := cmp.Diff([]string{"findings", "generatedAt", "incidents", "skipped", "tenantId"}, keys); diff != "" {
				t.Errorf("top-level keys (-want +got):\n%s", diff)
			}
			for _, k := range []string{"findings", "skipped", "incidents"} {
				if !bytes.HasPrefix(top[k], []byte("[")) {
					t.Errorf("%s = %s, want an array", k, top[k])
				}
			}
			var gen string
			if err := json.Unmarshal(top["generatedAt"], &gen); err != nil || gen != "2024-05-01T12:00:00Z" {
				t.Errorf("generatedAt = %s, want 2024-05-01T12:00:00Z", top["generatedAt"])
			}
			var fs []map[string]json.RawMessage
			if err := json.Unmarshal(top["findings"], &fs); err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				keys := slices.Sorted(maps.Keys(f))
				if diff := cmp.Diff([]string{"evidence", "key", "mitre", "observedAt", "rule", "severity", "subject", "title"}, keys); diff != "" {
					t.Errorf("finding keys (-want +got):\n%s", diff)
				}
				if !bytes.HasPrefix(f["evidence"], []byte("{")) || !bytes.HasPrefix(f["mitre"], []byte("[")) {
					t.Errorf("evidence %s / mitre %s: want object and array", f["evidence"], f["mitre"])
				}
			}
		})
	}
}

func TestJSONEmptyArrays(t *testing.T) {
	t.Parallel()
	out := render(t, "json", &report.Document{GeneratedAt: time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))})
	want := "{\n  \"generatedAt\": \"2024-05-01T12:00:00Z\",\n  \"tenantId\": \"\",\n  \"findings\": [],\n  \"skipped\": [],\n  \"incidents\": []\n}\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			out := render(t, "json", d.doc)
			got, err := report.ReadJSON(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			// Byte for byte: ReadJSON then WriteJSON reproduces the file.
			if again := render(t, "json", got); !bytes.Equal(out, again) {
				t.Errorf("WriteJSON(ReadJSON(x)) != x:\n%s", cmp.Diff(string(out), string(again)))
			}
			// Field by field, with evidence compared through its JSON form.
			want := &report.Document{
				GeneratedAt: d.doc.GeneratedAt,
				TenantID:    d.doc.TenantID,
				Findings:    d.doc.Findings,
				Skipped:     d.doc.Skipped,
				Incidents:   d.doc.Incidents,
			}
			if want.Incidents == nil {
				want.Incidents = []incident.Incident{}
			}
			if want.Findings == nil {
				want.Findings = []tenant.Finding{}
			}
			if want.Skipped == nil {
				want.Skipped = []tenant.Skipped{}
			}
			opts := cmp.Options{
				cmp.Comparer(func(a, b map[string]any) bool {
					ja, _ := json.Marshal(a)
					jb, _ := json.Marshal(b)
					return bytes.Equal(ja, jb) || (len(a) == 0 && len(b) == 0)
				}),
				cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) }), // nil MITRE reads back as []
			}
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("ReadJSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadJSONErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":         "",
		"not json":      "findings",
		"array":         "[]",
		"bad severity":  `{"findings":[{"severity":"urgent"}]}`,
		"bad time":      `{"generatedAt":"yesterday"}`,
		"trailing data": `{"findings":[]} {}`,
		"truncated":     `{"findings":[`,
	}
	for name, in := range tests {
		if d, err := report.ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("%s: ReadJSON = %+v, nil; want error", name, d)
		} else if !strings.HasPrefix(err.Error(), "report: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

func TestWriteJSONInvalid(t *testing.T) {
	t.Parallel()
	tests := map[string]tenant.Finding{
		"invalid severity":  {Rule: "r", Key: "k"},
		"unencodable value": {Rule: "r", Severity: tenant.SeverityLow, Key: "k", Evidence: map[string]any{"f": func() {}}},
	}
	for name, f := range tests {
		var b bytes.Buffer
		err := report.WriteJSON(&b, &report.Document{Findings: []tenant.Finding{f}})
		if err == nil {
			t.Errorf("%s: WriteJSON accepted it", name)
		}
		if b.Len() != 0 {
			t.Errorf("%s: WriteJSON wrote %d bytes before failing", name, b.Len())
		}
	}
}

// ---- CSV ----

// formulaRunes are the characters a spreadsheet may read as starting a formula.
const formulaRunes = "=+-@＝＋－＠﹦﹢﹣﹫"

// cellIsSafe is the test's own statement of a safe cell: quoted with ', or
// neither starting with tab/CR/LF nor having a formula character first after
// white space and invisible characters.
func cellIsSafe(c string) bool {
	if strings.HasPrefix(c, "'") || c == "" {
		return true
	}
	if strings.ContainsRune("\t\r\n", rune(c[0])) {
		return false
	}
	t := strings.TrimLeftFunc(c, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.In(r, unicode.Cf)
	})
	r, _ := utf8.DecodeRuneInString(t)
	return !strings.ContainsRune(formulaRunes, r)
}

func readCSV(t *testing.T, out []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(out, []byte("\xEF\xBB\xBF")) {
		t.Fatal("findings.csv does not start with a UTF-8 byte order mark")
	}
	r := csv.NewReader(bytes.NewReader(out[3:]))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCSV(t *testing.T) {
	t.Parallel()
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			out := render(t, "csv", d.doc)
			rows := readCSV(t, out)
			header := []string{"severity", "rule", "title", "subjectType", "subjectId", "subjectName", "observedAt", "mitre", "key", "evidence", "accepted"}
			if diff := cmp.Diff(header, rows[0]); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if len(rows)-1 != len(d.doc.Findings) {
				t.Fatalf("%d data rows, want %d", len(rows)-1, len(d.doc.Findings))
			}
			for i, row := range rows {
				for j, c := range row {
					if !cellIsSafe(c) {
						t.Errorf("row %d column %s: unsafe cell %q", i, header[j], c)
					}
				}
			}
			// Every line ends with CRLF; no bare LF ends a record.
			if !bytes.HasSuffix(out, []byte("\r\n")) {
				t.Error("findings.csv does not end with CRLF")
			}
			for i, line := range bytes.Split(out, []byte("\n")) {
				if i < len(bytes.Split(out, []byte("\n")))-1 && !bytes.HasSuffix(line, []byte("\r")) {
					t.Errorf("line %d ends with a bare LF: %q", i+1, line)
				}
			}
		})
	}
}

func TestCSVHostileCells(t *testing.T) {
	t.Parallel()
	rows := readCSV(t, render(t, "csv", hostileDoc()))
	col := func(name string) int { return slices.Index(rows[0], name) }
	tests := []struct {
		row    int
		column string
		want   string
	}{
		{1, "subjectName", hScript}, // harmless in a spreadsheet: kept as is
		{1, "mitre", "T1098.001;javascript:alert(1);T1098/../../x"},
		{1, "severity", "critical"},
		{1, "observedAt", "2024-04-30T08:15:00Z"},
		{2, "subjectName", hMarkdown},
		{3, "subjectName", "'" + hAt},
		{4, "subjectName", "[2J[31mroot[0m"}, // ESC removed; "[" is not a formula character
		{4, "subjectId", "' =1+1"},           // the tab became a space; then a formula: quoted
		{4, "key", "' =1+1"},                 // the CR likewise
		{5, "title", hRTL},                   // text first
		{5, "mitre", ""},                     // no MITRE ids
		{5, "evidence", "{}"},                // nil evidence
		{5, "subjectName", "bell and C1 31m and OSC 0;x and isolate \u2066x\u2069 " + hZero + " " + hRTL}, // controls removed
		{2, "evidence", `{"added":["https://evil.example/cb?a=1&b=<x>","javascript:alert(1)","[click](https://evil.example)"],"initiator":"+cmd|' /C calc'!A0"}`},
	}
	for _, tc := range tests {
		if got := rows[tc.row][col(tc.column)]; got != tc.want {
			t.Errorf("row %d %s = %q, want %q", tc.row, tc.column, got, tc.want)
		}
	}
}

// TestCSVIsTerminalInert checks that printing findings.csv cannot drive a
// terminal: valid UTF-8 and no control character but the CRLF that ends
// each record.
func TestCSVIsTerminalInert(t *testing.T) {
	t.Parallel()
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			out := string(render(t, "csv", d.doc))
			if !utf8.ValidString(out) {
				t.Error("findings.csv is not valid UTF-8")
			}
			records := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			for i, rec := range records {
				for _, r := range rec {
					if unicode.IsControl(r) {
						t.Errorf("record %d holds control character %U: %q", i, r, rec)
					}
				}
			}
			if n := len(records) - 1; n != len(d.doc.Findings) {
				t.Errorf("%d records after the header, want one per finding (%d): a break inside a cell made a row", n, len(d.doc.Findings))
			}
		})
	}
}

// TestJSONIsTerminalInert checks that printing findings.json (and
// findings.ocsf.jsonl) cannot drive a
// terminal: no control character but the newlines of its layout (encoding/json
// leaves C1 controls raw; WriteJSON escapes them).
func TestJSONIsTerminalInert(t *testing.T) {
	t.Parallel()
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			for _, ext := range []string{"json", "ocsf.jsonl"} {
				out := string(render(t, ext, d.doc))
				for i, r := range out {
					if unicode.IsControl(r) && r != '\n' {
						t.Errorf("%s holds control character %U at byte %d", ext, r, i)
					}
				}
			}
		})
	}
}

// ---- HTML ----

// allowedTags and allowedAttrs are everything the template may emit. A tag
// or attribute from tenant data would not be in them.
var (
	tagRE        = regexp.MustCompile(`<(/?)([a-zA-Z0-9!]+)([^>]*)>`)
	attrRE       = regexp.MustCompile(`\s([a-zA-Z-]+)(?:="([^"]*)")?`)
	allowedTags  = "!DOCTYPE html head meta title style body div header h1 h2 h3 h4 dl dt dd bdi span code time main section ul ol li p strong a table thead tbody tr th td article br footer"
	allowedAttrs = "lang charset http-equiv content name class datetime href rel id scope"
)

func TestHTMLStructure(t *testing.T) {
	t.Parallel()
	compared := struct {
		name string
		doc  *report.Document
	}{"compared", comparedDoc()}
	for _, d := range append(docs(), compared) {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			out := string(render(t, "html", d.doc))
			lower := strings.ToLower(out)
			for _, bad := range []string{"<script", "<img", "<iframe", "<object", "<link", "<base", "@import", "url(", "<svg", "<form", "<input"} {
				if strings.Contains(lower, bad) {
					t.Errorf("report.html contains %q", bad)
				}
			}
			// Every tag is one the template writes, with attributes it writes.
			rest := tagRE.ReplaceAllStringFunc(out, func(tag string) string {
				m := tagRE.FindStringSubmatch(tag)
				if !slices.Contains(strings.Fields(allowedTags), m[2]) {
					t.Errorf("unexpected tag %q", tag)
				}
				if m[2] == "!DOCTYPE" {
					return ""
				}
				attrs := strings.TrimSpace(attrRE.ReplaceAllStringFunc(m[3], func(a string) string {
					am := attrRE.FindStringSubmatch(a)
					if !slices.Contains(strings.Fields(allowedAttrs), am[1]) {
						t.Errorf("unexpected attribute %q in %q", am[1], tag)
					}
					if am[1] == "href" && !regexp.MustCompile(`^https://attack\.mitre\.org/techniques/T\d{4}/(\d{3}/)?$|^#[a-z]+$`).MatchString(am[2]) {
						t.Errorf("unexpected link %q", am[2])
					}
					return ""
				}))
				if attrs != "" {
					t.Errorf("unparsed attribute text %q in %q", attrs, tag)
				}
				return ""
			})
			// Outside tags, no < or > is left: all text is escaped.
			if i := strings.IndexAny(rest, "<>"); i >= 0 {
				t.Errorf("raw %q in text near %q", rest[i], rest[max(0, i-40):min(len(rest), i+40)])
			}
			// onerror= can only appear as escaped text, never in a tag.
			for _, m := range tagRE.FindAllString(out, -1) {
				if l := strings.ToLower(m); strings.Contains(l, "onerror") || strings.Contains(l, " on") || strings.Contains(l, "javascript:") {
					t.Errorf("script in tag %q", m)
				}
			}
			// Hidden and reordering characters never reach the page.
			for _, r := range out {
				if r != '\n' && r != '\t' && (unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069) {
					t.Errorf("report.html contains %U", r)
				}
			}
			// The CSP is strict and its style hash matches the style sheet.
			csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(out)
			if csp == nil {
				t.Fatal("no Content-Security-Policy meta tag")
			}
			policy := html.UnescapeString(csp[1])
			style := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(out)
			sum := sha256.Sum256([]byte(style[1]))
			wantPolicy := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'"
			if policy != wantPolicy {
				t.Errorf("CSP = %q\nwant  %q", policy, wantPolicy)
			}
			if strings.Contains(out, " style=") {
				t.Error("style attribute: blocked by the CSP")
			}
		})
	}
}

func TestHTMLHostileText(t *testing.T) {
	t.Parallel()
	out := string(render(t, "html", hostileDoc()))
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"[click](https://evil.example)",
		"=HYPERLINK(&#34;https://evil.example&#34;,&#34;x&#34;)",
		"https://evil.example/cb?a=1&amp;b=&lt;x&gt;",
		`\u001B[2J\u001B[31mroot\u001B[0m`,
		`invoice\u202Efdp.exe`,
		`bell\u0007 and C1 \u009B31m and OSC \u009D0;x\u0007 and isolate \u2066x\u2069 zero\u200Bwidth\u200Cnon\u200Djoiner\u2060word\uFEFFmark`,
		"line one\nline two\ttabbed", // layout kept in evidence
		`<title>tenantwatch report: Contoso &lt;script&gt;alert(1)&lt;/script&gt;</title>`,
		`<a href="https://attack.mitre.org/techniques/T1098/001/" rel="noopener noreferrer">T1098.001</a>`,
		`<a href="https://attack.mitre.org/techniques/T1098/" rel="noopener noreferrer">T1098</a>`,
		`<code>javascript:alert(1)</code>`,
		`<code>T1098/../../x</code>`,
		`<p class="empty">`, // absent: checked below
	} {
		if want == `<p class="empty">` {
			if strings.Contains(out, want) {
				t.Error(`"No findings" shown with findings`)
			}
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// URLs from evidence are text, never links.
	if n := strings.Count(out, "<a href=\"https://"); n != strings.Count(out, `<a href="https://attack.mitre.org/techniques/`) {
		t.Errorf("links other than ATT&CK: %d", n)
	}
}

func TestHTMLSections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     *report.Document
		want    []string
		notWant []string
	}{
		{
			name: "empty",
			doc:  emptyDoc(),
			want: []string{
				`<p class="empty">No findings.</p>`,
				`None: no rule was skipped.`,
				`None: every data source was read.`,
				`Every rule in the catalogue ran and every data source was read.`,
				`6 of 6 rules ran.`,
				`<code>app.mail-permission-granted</code>`, // zero-finding rules are listed
			},
			notWant: []string{"Blind spots", `class="finding`},
		},
		{
			name: "skipped",
			doc:  skippedDoc(),
			want: []string{
				`<strong>Blind spots.</strong> <a href="#skipped">4 checks were skipped</a>`,
				`<a href="#unavailable">3 data sources could not be read</a>`,
				`signInActivity: Entra ID P1 licence required`,
				`<code>legacy.removed-rule</code><span class="desc">(not in the rule catalogue)</span>`,
				`<td><code>signInActivity</code></td><td><span class="s">Entra ID P1 licence required</span></td><td><code>mfa.dormant-unregistered</code></td>`,
				`<tr class="skipped"><td><code>signin.azure-ip</code>`,
				`3 of 6 rules ran.`,
			},
			notWant: []string{"No findings."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := string(render(t, "html", tc.doc))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report.html lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("report.html has %q", w)
				}
			}
		})
	}
}

// ---- Text ----

func TestTextIsTerminalSafe(t *testing.T) {
	t.Parallel()
	for _, d := range docs() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			out := string(render(t, "txt", d.doc))
			if !utf8.ValidString(out) {
				t.Error("summary is not valid UTF-8")
			}
			for _, r := range out {
				if r == '\n' {
					continue
				}
				if unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x2028 || r == 0x2029 ||
					r >= 0x200B && r <= 0x200D || r == 0x2060 || r == 0xFEFF {
					t.Errorf("summary contains %U", r)
				}
			}
		})
	}
}

// TestTextPartialSources: a source read only in part is named in the
// summary with its reason (the Management Activity API keeps 7 days).
func TestTextPartialSources(t *testing.T) {
	t.Parallel()
	d := emptyDoc()
	d.Partial = map[tenant.Source]string{tenant.SourceExchangeAudit: "read from 2026-10-25T00:00:00Z: the Management Activity API keeps 7 days of content"}
	out := string(render(t, "txt", d))
	if !strings.Contains(out, "Partly read data sources (1):") || !strings.Contains(out, "exchangeAudit") || !strings.Contains(out, "keeps 7 days") {
		t.Errorf("summary does not name the partly read source:\n%s", out)
	}
}

func TestTextRowCap(t *testing.T) {
	t.Parallel()
	d := emptyDoc()
	for i := range 57 {
		d.Findings = append(d.Findings, tenant.Finding{
			Rule: "signin.azure-ip", Severity: tenant.SeverityLow,
			Subject: tenant.Subject{Type: tenant.SubjectUser, ID: "id", Name: strings.Repeat("x", i)},
			Key:     "k",
		})
	}
	out := string(render(t, "txt", d))
	if n := strings.Count(out, "signin.azure-ip"); n != 50 {
		t.Errorf("%d rows, want 50", n)
	}
	if !strings.Contains(out, "… and 7 more") {
		t.Errorf("no \"… and 7 more\" line:\n%s", out)
	}
	if !strings.Contains(out, "Findings: 57 (0 critical, 0 high, 0 medium, 57 low, 0 info)") {
		t.Errorf("counts line missing:\n%s", out)
	}
}

// ---- WriteDir ----

func TestWriteDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out", "scan")
	d := hostileDoc()
	for range 2 { // the second run replaces the first
		if err := report.WriteDir(dir, d); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), perm)
		}
	}
	if diff := cmp.Diff([]string{"findings.csv", "findings.json", "findings.ocsf.jsonl", "report.html"}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for name, ext := range map[string]string{"findings.json": "json", "findings.csv": "csv", "report.html": "html", "findings.ocsf.jsonl": "ocsf.jsonl"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want := render(t, ext, d); !bytes.Equal(got, want) {
			t.Errorf("%s differs from the writer's output", name)
		}
	}
}

func TestWriteDirFailureKeepsEarlierReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := report.WriteDir(dir, emptyDoc()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := emptyDoc()
	bad.Findings = []tenant.Finding{{Rule: "r", Severity: tenant.SeverityLow, Key: "k", Evidence: map[string]any{"c": make(chan int)}}}
	err = report.WriteDir(dir, bad)
	if err == nil || !strings.Contains(err.Error(), "findings.json") {
		t.Fatalf("WriteDir(unencodable) error = %v, want one naming findings.json", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, "findings.json"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("earlier findings.json changed (err %v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want the four earlier files only", names)
	}
}

// TestWriteDirKeepsEarlierSetWhenOneCannotBeReplaced: report.html is a
// folder, which no rename can replace. The earlier findings.json and
// findings.csv must stay as they were rather than be replaced alone.
func TestWriteDirKeepsEarlierSetWhenOneCannotBeReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := report.WriteDir(dir, emptyDoc()); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "report.html")
	if err := os.Remove(html); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(html, "kept"), 0o750); err != nil {
		t.Fatal(err)
	}
	before := make(map[string][]byte)
	for _, name := range []string{"findings.json", "findings.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		before[name] = b
	}
	err := report.WriteDir(dir, hostileDoc())
	if err == nil || !strings.Contains(err.Error(), "report.html") {
		t.Fatalf("WriteDir error = %v, want one naming report.html", err)
	}
	for name, b := range before {
		after, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(after, b) {
			t.Errorf("earlier %s was replaced although report.html could not be (err %v)", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want the earlier files only", names)
	}
}

func TestWriteDirNotADirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := report.WriteDir(file, emptyDoc())
	if err == nil || !strings.HasPrefix(err.Error(), "report: ") {
		t.Errorf("WriteDir(file) error = %v", err)
	}
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Errorf("WriteDir(file) error %v does not wrap *os.PathError", err)
	}
}

// TestUnresolvedSubject: a finding on an app no data resolved has no
// subject id (its evidence carries the app id); the summary and the HTML
// report say the object id is not resolved instead of showing an empty id.
func TestUnresolvedSubject(t *testing.T) {
	t.Parallel()
	d := emptyDoc()
	d.Findings = []tenant.Finding{{
		Rule: "app.mail-permission-granted", Severity: tenant.SeverityHigh, Title: "Mail permission granted",
		Subject:  tenant.Subject{Type: tenant.SubjectServicePrincipal, Name: "Ghost Client"},
		Evidence: map[string]any{"appId": "0e0fa1f9-4809-5471-a8cb-b2d2b6e9cacb", "objectIdResolved": false},
		Key:      "app.mail-permission-granted:appid=0e0fa1f9-4809-5471-a8cb-b2d2b6e9cacb:mail.readwrite",
	}}
	for _, tc := range []struct{ ext, want string }{
		{"txt", "Ghost Client (servicePrincipal object id not resolved)"},
		{"html", "object id not resolved (see appId in the evidence)"},
	} {
		if out := string(render(t, tc.ext, d)); !strings.Contains(out, tc.want) {
			t.Errorf("%s does not say %q:\n%s", tc.ext, tc.want, out)
		}
	}
	if out := string(render(t, "html", d)); strings.Contains(out, "<code></code>") {
		t.Error("the HTML report shows an empty subject id")
	}
}
