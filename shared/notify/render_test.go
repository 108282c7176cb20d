//go:build unix

package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The card renderer the issue measured: Microsoft's Adaptive Cards
// JavaScript renderer, npm adaptivecards at this version, with its defaults
// (no Markdown processor).
const adaptiveCardsVersion = "3.0.6"

// renderDeadline bounds the one chromium run; past it the test fails.
const renderDeadline = 90 * time.Second

// visibleText is what a person must read on each golden card, paragraph by
// paragraph: tenant strings exactly as cleaned (invisible characters and
// date/time openers gone, links defanged), Markdown and HTML characters as
// themselves, no backslash escapes and no HTML entities.
func visibleText() map[string][]string {
	const (
		link   = "[click](https[:]//evil)"
		bold   = "**bold**"
		script = "<script>alert(1)</script>"
		date   = "2024-01-01T00:00:00Z)}}" // hDate without its {{DATE( opener
		rtl    = "invoicegpj.exe"          // hRTL without its U+202E
	)
	return map[string][]string{
		"finding-hostile.golden.json": {
			"High: Credential added to a service principal or application " + bold,
			"Subject: " + link + " " + bold + " " + script + " " + date + " " + rtl + " " + strings.Repeat("Ab¢€𝄞", 20) + "A…",
			"Type: servicePrincipal",
			"Object ID: aaaaaaaa-0000-0000-0000-000000000001",
			"Rule: sp.credential-added",
			"MITRE: T1098.001, [click](https[:]//e…",
			"Observed: 2024-04-30 08:15:00 UTC",
			"Tenant: Contoso " + bold + " " + rtl,
			"Evidence",
			script + ": hostile key",
			"absent: null",
			"actor: " + bold + "@contoso.onmicrosoft.com",
			"count: 3",
			"credentials.0.displayName: " + script,
			"credentials.0.keyId: key-1",
			"credentials.0.type: AsymmetricX509Cert",
			"credentials.1.displayName: 1. backup",
			"credentials.1.end: 2026-01-01T00:00:00Z",
			"credentials.1.keyId: key-2",
			"firstParty: true",
			"keyDisplayName: CN=" + link,
			`links: www[.]evil.example, mailto[:]ceo@evil.example, https[:]//evil.example, https[:]\\evil.example`,
			"note: line one line two " + date + " " + rtl,
			"replyUrls: https[:]//evil.example/cb?a=1&b=<x>, javascript:alert(1), " + link,
			"Open report",
		},
		"finding-plain.golden.json": {
			"Medium: Dormant account without MFA",
			"Subject: alex@contoso.com",
			"Type: user",
			"Object ID: cccccccc-0000-0000-0000-000000000003",
			"Rule: mfa.dormant-unregistered",
			"MITRE: T1078.004",
			"Observed: 2024-04-30 08:15:00 UTC",
			"Evidence",
			"dormantDays: 180",
			"lastSignIn: 2023-11-02T10:00:00Z",
		},
		"digest.golden.json": {
			"tenantwatch daily digest",
			"Generated 2024-05-01 02:30:00 UTC",
			"Tenant: Contoso " + bold + " " + rtl,
			"Findings: 6 (1 critical, 1 high, 2 medium, 1 low, 1 info)",
			"Baseline built on the first run; " + bold + " " + date,
			"Critical Credential on a Microsoft first-party app — " + link + " (servicePrincipal)",
			"High Credential added to a service principal or application — " + script + " " + date + " (servicePrincipal)",
			"Medium Dormant account without MFA — " + bold + " " + rtl + " (user)",
			"Medium sp.reply-url-added — (no name) (application)",
			"Low Sign-in from Azure address space — adele@contoso.com (user)",
			"Info Advanced Auditing disabled — " + strings.Repeat("Ab¢€𝄞", 15) + "Ab¢€… (user)",
			"Skipped checks (2): not checked, a blind spot",
			"app.mail-permission-granted: appRoleAssignedTo: access denied " + link,
			"mfa.registration-untrusted-location: Conditional Access needs Entra ID P1 (WWW[.]contoso.example/help, mailto[:]it@contoso.example)",
			"Open report",
		},
		"incident.golden.json": {
			"Critical incident: MFA registered on a dormant account → Sign-in from Azure address space " + bold + " → Credential added to a service principal or application",
			"Incident: inc-37fdf08463667eb7",
			"Severity: Critical (raised one step: three or more techniques chain)",
			"Techniques: T1078.004, T1098.001, T1556.006",
			"First seen: 2024-04-30 08:15:00 UTC",
			"Last seen: 2024-04-30 09:45:00 UTC",
			"Tenant: Contoso " + bold + " " + rtl,
			"Timeline (4 steps)",
			"2024-04-30 08:15:00 UTC High MFA registered on a dormant account — dormant@contoso.com (user)",
			"Rule: mfa.dormant-registration · Object ID: 11111111-0000-0000-0000-000000000001",
			"2024-04-30 08:45:00 UTC new Medium Sign-in from Azure address space " + bold + " — dormant@contoso.com (user)",
			"Rule: signin.azure-ip · Object ID: 11111111-0000-0000-0000-000000000001",
			"2024-04-30 09:45:00 UTC High Credential added to a service principal or application — " + link + " " + script + " " + rtl + " (servicePrincipal)",
			"Rule: sp.credential-added · Object ID: 22222222-0000-0000-0000-000000000002",
			"2024-04-30 09:45:00 UTC Medium Service principal can read mail — " + date + " (servicePrincipal, a standing state)",
			"Rule: sp.mail-access · Object ID: 22222222-0000-0000-0000-000000000002",
			"Entities (4)",
			"id:11111111-0000-0000-0000-000000000001, id:22222222-0000-0000-0000-000000000002, ip:203.0.113.9, upn:dormant@contoso.com",
			"Open report",
		},
		"incident-followup.golden.json": {
			"Incident update: MFA registered on a dormant account → Sign-in from Azure address space " + bold + " → Credential added to a service principal or application",
			"Incident: inc-37fdf08463667eb7",
			"Severity: Critical (raised one step: three or more techniques chain)",
			"Update: 1 (the incident's first card was posted before; this one adds to it)",
			"Tenant: Contoso " + bold + " " + rtl,
			"New steps (2)",
			"2024-04-30 09:45:00 UTC High Credential added to a service principal or application — " + link + " " + script + " " + rtl + " (servicePrincipal)",
			"Rule: sp.credential-added · Object ID: 22222222-0000-0000-0000-000000000002",
			"2024-04-30 09:45:00 UTC Medium Service principal can read mail — " + date + " (servicePrincipal, a standing state)",
			"Rule: sp.mail-access · Object ID: 22222222-0000-0000-0000-000000000002",
			"The incident now holds 4 findings, seen 2024-04-30 08:15:00 UTC to 2024-04-30 09:45:00 UTC.",
			"Open report",
		},
		"digest-incidents.golden.json": {
			"tenantwatch daily digest",
			"Generated 2024-05-01 02:30:00 UTC",
			"Tenant: Contoso " + bold + " " + rtl,
			"Findings: 6 (1 critical, 1 high, 2 medium, 1 low, 1 info)",
			"Baseline built on the first run; " + bold + " " + date,
			"Incidents (1): findings one attack ties together",
			"Critical MFA registered on a dormant account → Sign-in from Azure address space " + bold + " → Credential added to a service principal or application — inc-37fdf08463667eb7, 6 findings, 2 of them here",
			"Other findings",
			"Medium Dormant account without MFA — " + bold + " " + rtl + " (user)",
			"Medium sp.reply-url-added — (no name) (application)",
			"Low Sign-in from Azure address space — adele@contoso.com (user)",
			"Info Advanced Auditing disabled — " + strings.Repeat("Ab¢€𝄞", 15) + "Ab¢€… (user)",
			"Open report",
		},
		"digest-empty.golden.json": {
			"tenantwatch digest",
			"Generated 2024-05-01 02:30:00 UTC",
			"Findings: 0 (0 critical, 0 high, 0 medium, 0 low, 0 info)",
			"No new findings.",
		},
	}
}

// TestGoldenCardsAsRendered renders every golden card with the Adaptive
// Cards JavaScript renderer in headless Chromium, one browser run for all,
// and compares the text a person sees (innerText of the rendered card) with
// visibleText. It also fails on any warning the renderer's parser or
// validator reports. Chromium and the renderer come from `make test`.
func TestGoldenCardsAsRendered(t *testing.T) {
	chromium, module := renderTools(t)
	paths, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := visibleText()
	cards := make(map[string]json.RawMessage)
	for _, p := range paths {
		name := filepath.Base(p)
		if _, ok := want[name]; !ok {
			t.Errorf("%s: no intended text in visibleText: add what a person must read on it", name)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Attachments []struct {
				Content json.RawMessage `json:"content"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(b, &m); err != nil || len(m.Attachments) != 1 {
			t.Fatalf("%s: not a message with one card (%v)", p, err)
		}
		cards[name] = m.Attachments[0].Content
	}
	for name := range want {
		if _, ok := cards[name]; !ok {
			t.Errorf("%s: golden card missing (run go test -update)", name)
		}
	}

	got := renderCards(t, chromium, module, cards)
	for _, name := range slices.Sorted(maps.Keys(cards)) {
		t.Run(name, func(t *testing.T) {
			r, ok := got[name]
			if !ok {
				t.Fatal("the page rendered no result for this card")
			}
			for _, p := range r.Problems {
				t.Errorf("renderer: %s", p)
			}
			var lines []string
			for _, l := range strings.Split(r.Text, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			if diff := cmp.Diff(want[name], lines); diff != "" {
				t.Errorf("visible text (-intended +rendered):\n%s", diff)
			}
		})
	}
}

// renderTools returns chromium and the adaptivecards module folder:
// $TENANTWATCH_CHROMIUM (else /usr/bin/chromium) and
// $TENANTWATCH_ADAPTIVECARDS (else .tools/adaptivecards/node_modules/
// adaptivecards in the first parent folder that has one). It fails the test
// with what to run when either is missing or the module is not the pinned
// version.
func renderTools(t *testing.T) (chromium, module string) {
	t.Helper()
	const hint = "run `make test` (it installs Debian's chromium where it is missing, and adaptivecards@" + adaptiveCardsVersion + " into .tools/adaptivecards)"
	chromium = os.Getenv("TENANTWATCH_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium is not installed (%v): %s, or set TENANTWATCH_CHROMIUM", err, hint)
	}
	module = os.Getenv("TENANTWATCH_ADAPTIVECARDS")
	if module == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			p := filepath.Join(dir, ".tools", "adaptivecards", "node_modules", "adaptivecards")
			if _, err := os.Stat(p); err == nil {
				module = p
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Fatalf("the adaptivecards renderer is not installed: %s, or set TENANTWATCH_ADAPTIVECARDS", hint)
			}
			dir = parent
		}
	}
	b, err := os.ReadFile(filepath.Join(module, "package.json"))
	if err != nil {
		t.Fatalf("the adaptivecards renderer is not installed (%v): %s, or set TENANTWATCH_ADAPTIVECARDS", err, hint)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Name != "adaptivecards" || pkg.Version != adaptiveCardsVersion {
		t.Fatalf("%s holds %s@%s (%v), want adaptivecards@%s: %s", module, pkg.Name, pkg.Version, err, adaptiveCardsVersion, hint)
	}
	return chromium, module
}

// rendered is what the page reports for one card.
type rendered struct {
	Text     string   `json:"text"`
	Problems []string `json:"problems"`
}

// renderPage renders each card in cards (name → AdaptiveCard JSON) with the
// renderer's defaults, appends it to the page and records its innerText and
// the parser's and validator's warnings. The result goes into
// <pre id="result"> as base64 of UTF-8 JSON, which --dump-dom prints
// unchanged.
const renderPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>cards</title>
<script>%s</script>
</head><body><div id="cards"></div><pre id="result"></pre>
<script>
const cards = %s;
const out = {};
for (const [name, card] of Object.entries(cards)) {
  const problems = [];
  let text = "";
  try {
    const ac = new AdaptiveCards.AdaptiveCard();
    const ctx = new AdaptiveCards.SerializationContext();
    ac.parse(card, ctx);
    for (let i = 0; i < ctx.eventCount; i++) problems.push("parse: " + ctx.getEventAt(i).message);
    for (const e of ac.validateProperties().validationEvents) problems.push("validate: " + e.message);
    const el = ac.render();
    if (!el) {
      problems.push("render: no element");
    } else {
      const holder = document.createElement("div");
      holder.appendChild(el);
      document.getElementById("cards").appendChild(holder);
      text = el.innerText;
    }
  } catch (e) {
    problems.push("exception: " + e);
  }
  out[name] = {text, problems};
}
const bytes = new TextEncoder().encode(JSON.stringify(out));
let bin = "";
for (const b of bytes) bin += String.fromCharCode(b);
document.getElementById("result").textContent = btoa(bin);
</script></body></html>
`

var resultRe = regexp.MustCompile(`<pre id="result">([A-Za-z0-9+/=]*)</pre>`)

// renderCards runs chromium once, headless, on a page that renders every
// card, and returns what the page reports. Chromium gets a fresh profile
// and no network (the flags this machine needs); it must finish within
// renderDeadline, else the test fails and its whole process group is
// killed.
func renderCards(t *testing.T, chromium, module string, cards map[string]json.RawMessage) map[string]rendered {
	t.Helper()
	js, err := os.ReadFile(filepath.Join(module, "dist", "adaptivecards.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	js = bytes.ReplaceAll(js, []byte("</script"), []byte(`<\/script`))
	data, err := json.Marshal(cards) // escapes <, > and &: safe inside <script>
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "cards.html")
	if err := os.WriteFile(page, fmt.Appendf(nil, renderPage, js, data), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), renderDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--dump-dom", "file://"+page)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium did not finish within %v; stderr:\n%s", renderDeadline, tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium: %v; stderr:\n%s", err, tail(stderr.String()))
	}
	m := resultRe.FindSubmatch(stdout.Bytes())
	if m == nil || len(m[1]) == 0 {
		t.Fatalf("chromium's page reported nothing (a script error?); stderr:\n%s", tail(stderr.String()))
	}
	raw, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]rendered)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// tail is the last lines of a log, for an error message.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
