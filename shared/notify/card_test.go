package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/golden"
	"github.com/tenantwatch/tenantwatch/shared/notify"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

const reportURL = "https://twreports.blob.core.windows.net/reports/2024/05/01/report.html"

// teamsLimit is Teams' message limit; MaxPayloadBytes stays below it.
const teamsLimit = 28 << 10

var observed = time.Date(2024, 4, 30, 8, 15, 0, 0, time.UTC)

// hLong is a 5,000-rune name mixing 1- to 4-byte characters.
var hLong = strings.Repeat("Ab¢€𝄞", 1000)

func hostileFinding() tenant.Finding {
	return tenant.Finding{
		Rule:     "sp.credential-added",
		Severity: tenant.SeverityHigh,
		Title:    "Credential added to a service principal or application " + hBold,
		Subject: tenant.Subject{
			Type: tenant.SubjectServicePrincipal,
			ID:   "aaaaaaaa-0000-0000-0000-000000000001",
			Name: hLink + " " + hBold + " " + hScript + " " + hDate + " " + hRTL + "\r\n" + hLong,
		},
		Evidence: map[string]any{
			"keyDisplayName": "CN=" + hLink,
			"replyUrls":      []string{"https://evil.example/cb?a=1&b=<x>", "javascript:alert(1)", hLink},
			"actor":          hBold + "@contoso.onmicrosoft.com",
			"note":           "line one\nline two " + hDate + " " + hRTL,
			"credentials": []map[string]any{
				{"keyId": "key-1", "displayName": hScript, "type": "AsymmetricX509Cert"},
				{"keyId": "key-2", "displayName": "1. backup", "end": "2026-01-01T00:00:00Z"},
			},
			"links":      []string{"www.evil.example", "mailto:ceo@evil.example", "https：//evil.example", `https:\\evil.example`},
			"count":      3,
			"firstParty": true,
			"absent":     nil,
			hScript:      "hostile key",
		},
		MITRE:      []string{"T1098.001", hLink},
		ObservedAt: observed,
		Key:        "sp.credential-added:aaaaaaaa-0000-0000-0000-000000000001:key-1",
	}
}

func hostileOptions() *notify.CardOptions {
	return &notify.CardOptions{ReportURL: reportURL, TenantName: "Contoso " + hBold + " " + hRTL}
}

func sampleDigest() notify.Digest {
	f := func(sev tenant.Severity, rule, title string, typ tenant.SubjectType, name string) tenant.Finding {
		return tenant.Finding{Rule: rule, Severity: sev, Title: title, Subject: tenant.Subject{Type: typ, ID: "id-" + rule, Name: name}, ObservedAt: observed, Key: rule + ":" + name}
	}
	return notify.Digest{
		Title:     "tenantwatch daily digest",
		Generated: t0,
		Findings: []tenant.Finding{
			f(tenant.SeverityLow, "signin.azure-ip", "Sign-in from Azure address space", tenant.SubjectUser, "adele@contoso.com"),
			f(tenant.SeverityMedium, "mfa.dormant-unregistered", "Dormant account without MFA", tenant.SubjectUser, hBold+" "+hRTL),
			f(tenant.SeverityCritical, "sp.first-party-credential", "Credential on a Microsoft first-party app", tenant.SubjectServicePrincipal, hLink),
			f(tenant.SeverityHigh, "sp.credential-added", "Credential added to a service principal or application", tenant.SubjectServicePrincipal, hScript+" "+hDate),
			f(tenant.SeverityInfo, "audit.advanced-auditing-disabled", "Advanced Auditing disabled", tenant.SubjectUser, hLong),
			f(tenant.SeverityMedium, "sp.reply-url-added", "", tenant.SubjectApplication, ""),
		},
		Skipped: []tenant.Skipped{
			{Rule: "app.mail-permission-granted", Reason: "appRoleAssignedTo: access denied " + hLink},
			{Rule: "mfa.registration-untrusted-location", Reason: "Conditional Access needs Entra ID P1 (WWW.contoso.example/help, mailto：it@contoso.example)"},
		},
		Note: "Baseline built on the first run; " + hBold + " " + hDate,
	}
}

// indent pretty-prints a payload for a golden file.
func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestCardGoldens(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func() ([]byte, error)
	}{
		{"finding-hostile", func() ([]byte, error) { return notify.FindingCard(hostileFinding(), hostileOptions()) }},
		{"finding-plain", func() ([]byte, error) {
			return notify.FindingCard(tenant.Finding{
				Rule: "mfa.dormant-unregistered", Severity: tenant.SeverityMedium, Title: "Dormant account without MFA",
				Subject:  tenant.Subject{Type: tenant.SubjectUser, ID: "cccccccc-0000-0000-0000-000000000003", Name: "alex@contoso.com"},
				Evidence: map[string]any{"lastSignIn": "2023-11-02T10:00:00Z", "dormantDays": 180},
				MITRE:    []string{"T1078.004"}, ObservedAt: observed, Key: "mfa.dormant-unregistered:cccccccc",
			}, nil)
		}},
		{"digest", func() ([]byte, error) { return notify.DigestCard(sampleDigest(), hostileOptions()) }},
		{"digest-empty", func() ([]byte, error) {
			return notify.DigestCard(notify.Digest{}, &notify.CardOptions{Now: func() time.Time { return t0 }})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > notify.MaxPayloadBytes {
				t.Errorf("payload is %d bytes, over %d", len(b), notify.MaxPayloadBytes)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".golden.json"), indent(t, b))
		})
	}
}

// TestGoldenCardsSafe reads every golden card back and checks the rules on
// the files a reviewer sees: no tenant string unescaped in a Markdown
// field, no hidden characters or date/time functions anywhere, the report
// URL as the only link.
func TestGoldenCardsSafe(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Fatalf("found %d golden cards, want at least 4 (run go test -update)", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want := reportURL
			if strings.Contains(p, "plain") || strings.Contains(p, "empty") {
				want = "" // built without a report URL: no action at all
			}
			for _, prob := range cardProblems(b, want) {
				t.Error(prob)
			}
			if want == "" && bytes.Contains(b, []byte("Action.OpenUrl")) {
				t.Error("card without a report URL has an action")
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, b); err != nil {
				t.Fatal(err)
			}
			if compact.Len() >= teamsLimit {
				t.Errorf("card is %d bytes, Teams refuses %d", compact.Len(), teamsLimit)
			}
			// The hostile strings may appear verbatim only as TextRun text.
			for _, h := range []string{hLink, hBold, "<script>", "{{DATE(", "\u202E"} {
				if n, runs := bytes.Count(b, []byte(h)), textRunsContaining(t, b, h); n != runs {
					t.Errorf("%q appears %d times, only %d of them in TextRuns", h, n, runs)
				}
			}
		})
	}
}

// textRunsContaining counts TextRun texts containing s.
func textRunsContaining(t *testing.T, payload []byte, s string) int {
	t.Helper()
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "TextRun" {
				n += strings.Count(x["text"].(string), s)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return n
}

// TestCardProblems checks that the checker used on the goldens and in the
// fuzz targets finds what it is meant to find.
func TestCardProblems(t *testing.T) {
	wrap := func(body, actions string) []byte {
		return []byte(`{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,` +
			`"content":{"type":"AdaptiveCard","version":"1.4","body":[` + body + `],"actions":[` + actions + `]}}]}`)
	}
	ok := `{"type":"RichTextBlock","inlines":[{"type":"TextRun","text":"fine"}]}`
	action := `{"type":"Action.OpenUrl","title":"Open report","url":"` + reportURL + `"}`
	runText := func(text string) string {
		return `{"type":"RichTextBlock","inlines":[{"type":"TextRun","text":"` + text + `"}]}`
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    string // substring of a problem; "" = no problem
	}{
		{"clean", wrap(ok, action), ""},
		{"markdown shown literally", wrap(runText("[x](y) **b** <i>"), action), ""},
		{"text block renders markdown", wrap(`{"type":"TextBlock","text":"fine"}`, action), "element type"},
		{"fact set renders markdown", wrap(`{"type":"FactSet","facts":[{"title":"a","value":"b"}]}`, action), "element type"},
		{"url in text run", wrap(runText("https://evil"), action), "link pattern"},
		{"fullwidth colon", wrap(runText("https：//evil"), action), "link pattern"},
		{"backslashes", wrap(runText(`https:\\\\evil`), action), "link pattern"},
		{"www host", wrap(runText("see WWW.evil.example"), action), "link pattern"},
		{"mailto", wrap(runText("mailto:a@evil.example"), action), "link pattern"},
		{"rtl in text run", wrap(runText(`a\u202eb`), action), "hidden"},
		{"template in text run", wrap(runText("{{DATE(2024-01-01T00:00:00Z)}}"), action), "date/time"},
		{"other url", wrap(ok, `{"type":"Action.OpenUrl","title":"x","url":"https://evil"}`), "want only the report URL"},
		{"other action", wrap(ok, `{"type":"Action.Submit","title":"x"}`), "element type"},
		{"image", wrap(`{"type":"Image","url":"https://evil/x.png"}`, action), "element type"},
		{"select action", wrap(`{"type":"TextBlock","text":"x","selectAction":{"type":"Action.OpenUrl","url":"https://evil"}}`, action), "links are not allowed"},
		{"not a message", []byte(`{"type":"AdaptiveCard"}`), "not a message"},
		{"not json", []byte(`{`), "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probs := strings.Join(cardProblems(tc.payload, reportURL), "\n")
			if (tc.want == "") != (probs == "") || !strings.Contains(probs, tc.want) {
				t.Errorf("problems = %q, want one containing %q", probs, tc.want)
			}
		})
	}
}

func TestFindingCardHugeEvidence(t *testing.T) {
	manyWide := make(map[string]any)
	for i := range 2000 {
		manyWide[fmt.Sprintf("k%04d", i)] = strings.Repeat("😈*", 400)
	}
	deep := map[string]any{}
	cur := deep
	for range 50 {
		next := map[string]any{"x": "[deep](https://evil)"}
		cur["n"] = next
		cur = next
	}
	for _, tc := range []struct {
		name     string
		evidence map[string]any
		want     string // text the card must show
	}{
		{"one 1 MB value", map[string]any{"blob": strings.Repeat("A[b](c)", 1<<20/7)}, "blob"},
		{"1 MB array", map[string]any{"list": strings.Split(strings.Repeat("https://evil.example/x,", 1<<20/23), ",")}, "more"},
		{"many wide values", manyWide, "Showing "},
		{"deep nesting", deep, "n.n.n.n"},
		{"unencodable", map[string]any{"ch": make(chan int)}, "Evidence could not be encoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := hostileFinding()
			f.Evidence = tc.evidence
			b, err := notify.FindingCard(f, hostileOptions())
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > notify.MaxPayloadBytes {
				t.Errorf("payload is %d bytes, over %d", len(b), notify.MaxPayloadBytes)
			}
			for _, p := range cardProblems(b, reportURL) {
				t.Error(p)
			}
			if !bytes.Contains(b, []byte(tc.want)) {
				t.Errorf("card does not show %q", tc.want)
			}
			if !bytes.Contains(b, []byte("Credential added")) {
				t.Error("card lost its title")
			}
		})
	}
}

func TestFindingCardShrinksEvidenceToFit(t *testing.T) {
	ev := make(map[string]any)
	for i := range 30 {
		ev[fmt.Sprintf("key%02d", i)] = strings.Repeat("😈", 300) // 1,200 bytes each
	}
	f := hostileFinding()
	f.Evidence = ev
	b, err := notify.FindingCard(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > notify.MaxPayloadBytes {
		t.Fatalf("payload is %d bytes", len(b))
	}
	// 25 lines of 300 runes do not fit; a smaller level must have been used.
	lines := bodyLines(t, b)
	shown := 0
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "key") {
			shown++
		}
	}
	if shown == 0 || shown >= 25 {
		t.Errorf("%d evidence lines shown, want fewer than 25 and more than 0", shown)
	}
	if got, want := lines[len(lines)-1].Text, fmt.Sprintf("Showing %d of 30 evidence items — see the report for all.", shown); got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
}

func TestReportURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string // "" = no action
	}{
		{reportURL, reportURL},
		{"https://twreports.blob.core.windows.net/reports/r.html?sv=2024&sig=abc%2Bdef", "https://twreports.blob.core.windows.net/reports/r.html"}, // no SAS on a card
		{"https://twreports.blob.core.windows.net/reports/r.html#top", "https://twreports.blob.core.windows.net/reports/r.html"},
		{"http://127.0.0.1:7071/report.html", "http://127.0.0.1:7071/report.html"},
		{"http://localhost/report.html", "http://localhost/report.html"},
		{"http://example.com/report.html", ""},
		{"http://[::1]:7071/report.html", "http://[::1]:7071/report.html"},
		{"http://127.evil.example/report.html", ""},
		{"javascript:alert(1)", ""},
		{"https://user:pw@evil.example/", ""},
		{"https:///nohost", ""},
		{"https://a.example/b c", ""},
		{"https://a.example/\u202Elmth", ""},
		{"ftp://a.example/r", ""},
		{"//a.example/r", ""},
		{"https://a.example/" + strings.Repeat("x", 3000), ""},
		{"", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			b, err := notify.FindingCard(hostileFinding(), &notify.CardOptions{ReportURL: tc.url})
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Attachments []struct {
					Content struct {
						Actions []struct{ Type, Title, URL string }
					}
				}
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			var got string
			if as := m.Attachments[0].Content.Actions; len(as) > 0 {
				if len(as) != 1 || as[0].Type != "Action.OpenUrl" || as[0].Title != "Open report" {
					t.Fatalf("actions = %+v", as)
				}
				got = as[0].URL
			}
			if got != tc.want {
				t.Errorf("action url = %q, want %q", got, tc.want)
			}
		})
	}
}

// bodyLine is one paragraph of a card: its id and the text of its runs.
type bodyLine struct{ ID, Text string }

// bodyLines returns a card's paragraphs in order.
func bodyLines(t *testing.T, b []byte) []bodyLine {
	t.Helper()
	var m struct {
		Attachments []struct {
			Content struct {
				Body []struct {
					Type    string
					ID      string
					Inlines []struct{ Text string }
				}
			}
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []bodyLine
	for _, e := range m.Attachments[0].Content.Body {
		if e.Type != "RichTextBlock" {
			t.Fatalf("body element of type %q", e.Type)
		}
		var s strings.Builder
		for _, in := range e.Inlines {
			s.WriteString(in.Text)
		}
		out = append(out, bodyLine{e.ID, s.String()})
	}
	return out
}

// findingLineRe matches a digest's finding line: severity, title — name.
var findingLineRe = regexp.MustCompile(`^(Critical|High|Medium|Low|Info|Unknown severity) .* — `)

// digestLines splits a digest's paragraphs into finding lines and the rest.
func digestLines(t *testing.T, b []byte) (findings, other []string) {
	t.Helper()
	for _, l := range bodyLines(t, b) {
		if findingLineRe.MatchString(l.Text) {
			findings = append(findings, l.Text)
		} else {
			other = append(other, l.Text)
		}
	}
	return findings, other
}

func TestDigestCard10000(t *testing.T) {
	var fs []tenant.Finding
	for i := range 10000 {
		sev := tenant.SeverityLow
		if i%1000 == 999 {
			sev = tenant.SeverityCritical
		}
		fs = append(fs, tenant.Finding{
			Rule: "signin.azure-ip", Severity: sev, Title: "Sign-in from Azure address space " + hBold,
			Subject: tenant.Subject{Type: tenant.SubjectUser, ID: fmt.Sprint(i), Name: fmt.Sprintf("user%05d %s %s", i, hLink, strings.Repeat("ж", 200))},
			Key:     fmt.Sprint(i),
		})
	}
	b, err := notify.DigestCard(notify.Digest{Generated: t0, Findings: fs, ReportURL: reportURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > notify.MaxPayloadBytes {
		t.Fatalf("payload is %d bytes", len(b))
	}
	for _, p := range cardProblems(b, reportURL) {
		t.Error(p)
	}
	lines, texts := digestLines(t, b)
	if len(lines) == 0 || len(lines) > 50 {
		t.Fatalf("%d finding lines, want 1 to 50", len(lines))
	}
	for i, l := range lines[:min(len(lines), 10)] {
		if !strings.HasPrefix(l, "Critical") {
			t.Errorf("line %d = %q: the 10 critical findings must come first", i, l)
		}
	}
	wantMore := fmt.Sprintf("and %d more — see the report", 10000-len(lines))
	wantCounts := "Findings: 10000 (10 critical, 0 high, 0 medium, 9990 low, 0 info)"
	if !contains(texts, wantMore) || !contains(texts, wantCounts) {
		t.Errorf("texts = %q, want %q and %q", texts, wantCounts, wantMore)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestDigestCardCounts(t *testing.T) {
	d := sampleDigest()
	d.Counts = map[tenant.Severity]int{tenant.SeverityHigh: 40, tenant.SeverityLow: 60, 0: 2}
	d.Skipped = nil
	for i := range 15 {
		d.Skipped = append(d.Skipped, tenant.Skipped{Rule: fmt.Sprintf("rule.%d", i), Reason: "forbidden"})
	}
	b, err := notify.DigestCard(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines, texts := digestLines(t, b)
	want := []string{
		"tenantwatch daily digest",
		"Generated 2024-05-01 02:30:00 UTC",
		"Findings: 102 (0 critical, 40 high, 0 medium, 60 low, 0 info, 2 invalid)",
		"Baseline built on the first run; **bold** 2024-01-01T00:00:00Z)}}",
		"and 96 more — see the report",
		"Skipped checks (15): not checked, a blind spot",
		"rule.0: forbidden", "rule.1: forbidden", "rule.2: forbidden", "rule.3: forbidden", "rule.4: forbidden",
		"rule.5: forbidden", "rule.6: forbidden", "rule.7: forbidden", "rule.8: forbidden", "rule.9: forbidden",
		"and 5 more — see the report",
	}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("texts (-want +got):\n%s", diff)
	}
	if len(lines) != 6 {
		t.Errorf("%d finding lines, want 6", len(lines))
	}
}

func TestCardErrorsAreRare(t *testing.T) {
	// The builders only fail when a card cannot fit at all; ordinary and
	// hostile input never gets there.
	if _, err := notify.FindingCard(tenant.Finding{}, nil); err != nil {
		t.Errorf("FindingCard(zero) = %v", err)
	}
	if _, err := notify.DigestCard(notify.Digest{Title: hLong, Note: hLong, Skipped: []tenant.Skipped{{Rule: hLong, Reason: hLong}}}, &notify.CardOptions{TenantName: hLong}); err != nil {
		t.Errorf("DigestCard(long strings) = %v", err)
	}
	if !errors.Is(fmt.Errorf("x: %w", notify.ErrCardTooLarge), notify.ErrCardTooLarge) {
		t.Error("ErrCardTooLarge does not match itself")
	}
}

func FuzzFindingCard(f *testing.F) {
	f.Add("Contoso Mail Archiver", "Credential added", "keyDisplayName", "CN=Contoso", uint16(1), "https://a.example/r")
	f.Add(hLink, hBold, hScript, hDate, uint16(40), reportURL)
	f.Add(hRTL+hLong, "1. x", "{{TIME(", "\x00\xff", uint16(1000), "javascript:alert(1)")
	f.Add("", "", "", "", uint16(0), "")
	f.Fuzz(func(t *testing.T, name, title, key, value string, n uint16, report string) {
		list := make([]string, int(n)%500)
		for i := range list {
			list[i] = value
		}
		fd := tenant.Finding{
			Rule: "sp.credential-added", Severity: tenant.Severity(int(n)%7 - 1), Title: title,
			Subject:  tenant.Subject{Type: tenant.SubjectUser, ID: key, Name: name},
			Evidence: map[string]any{key: value, "list": list, "nested": map[string]any{value: []any{key, map[string]any{name: n}}}},
			MITRE:    []string{title, value}, ObservedAt: observed, Key: key,
		}
		b, err := notify.FindingCard(fd, &notify.CardOptions{ReportURL: report, TenantName: name})
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatal("invalid JSON")
		}
		if len(b) > notify.MaxPayloadBytes || len(b) >= teamsLimit {
			t.Fatalf("payload is %d bytes", len(b))
		}
		// The report URL may be normalised or dropped; any action must
		// open exactly what the card's own action holds, and nothing else.
		want := actionURL(t, b)
		if want != "" && !strings.HasPrefix(want, "http") {
			t.Fatalf("action url %q", want)
		}
		for _, p := range cardProblems(b, want) {
			if want == "" && strings.Contains(p, "want only the report URL") {
				continue
			}
			t.Error(p)
		}
	})
}

func actionURL(t *testing.T, b []byte) string {
	t.Helper()
	var m struct {
		Attachments []struct {
			Content struct{ Actions []struct{ URL string } }
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if as := m.Attachments[0].Content.Actions; len(as) > 0 {
		return as[0].URL
	}
	return ""
}

func BenchmarkFindingCard(b *testing.B) {
	f := hostileFinding()
	opts := hostileOptions()
	for b.Loop() {
		if _, err := notify.FindingCard(f, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigestCard(b *testing.B) {
	d := sampleDigest()
	base := d.Findings
	d.Findings = nil
	for i := range 1000 {
		f := base[i%len(base)]
		f.Key = fmt.Sprint(i)
		d.Findings = append(d.Findings, f)
	}
	opts := hostileOptions()
	for b.Loop() {
		if _, err := notify.DigestCard(d, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFindingCardObjectID: the card's "Object ID" is the subject's object
// id; for an app no data resolved (no subject id) it says "not resolved" and
// shows the app id under its own name, never as the object id.
func TestFindingCardObjectID(t *testing.T) {
	const objectID, appID = "39f251dd-f17b-4bd0-a048-5ae598f31873", "e82d0828-8deb-46ab-aefa-392b55c9addf"
	tests := []struct {
		name    string
		subject tenant.Subject
		ev      map[string]any
		want    map[string]string // subject facts
	}{
		{"resolved", tenant.Subject{Type: tenant.SubjectServicePrincipal, ID: objectID, Name: "Legacy Mail Sync"},
			map[string]any{"appId": appID}, map[string]string{"Object ID": objectID}},
		{"unresolved app id", tenant.Subject{Type: tenant.SubjectServicePrincipal, Name: "Legacy Mail Sync"},
			map[string]any{"appId": appID, "objectIdResolved": false}, map[string]string{"Object ID": "not resolved", "App ID": appID}},
		{"unresolved name", tenant.Subject{Type: tenant.SubjectServicePrincipal, Name: "Ghost Mailer"},
			map[string]any{"objectIdResolved": false}, map[string]string{"Object ID": "not resolved"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tenant.Finding{Rule: "app.mail-permission-granted", Severity: tenant.SeverityHigh, Title: "Mail-reading permission granted",
				Subject: tc.subject, Evidence: tc.ev, Key: "k", ObservedAt: observed}
			b, err := notify.FindingCard(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Attachments []struct {
					Content struct {
						Body []struct {
							Type    string
							ID      string
							Inlines []struct{ Text string }
						}
					}
				}
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			// Each fact is a RichTextBlock of two TextRuns, "Label: " and the
			// value, with the element id objectId or appId.
			got := map[string]string{}
			for _, el := range m.Attachments[0].Content.Body {
				if el.Type != "RichTextBlock" || (el.ID != "objectId" && el.ID != "appId") || len(el.Inlines) != 2 {
					continue
				}
				got[strings.TrimSuffix(el.Inlines[0].Text, ": ")] = el.Inlines[1].Text
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("subject facts (-want +got):\n%s", diff)
			}
		})
	}
}
