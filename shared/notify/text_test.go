package notify_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/notify"
)

// Hostile tenant strings used across the tests.
const (
	hLink   = "[click](https://evil)"
	hBold   = "**bold**"
	hScript = "<script>alert(1)</script>"
	hDate   = "{{DATE(2024-01-01T00:00:00Z)}}"
	hRTL    = "invoice\u202Egpj.exe"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Contoso Mail Archiver", "Contoso Mail Archiver"},
		{"empty", "", ""},
		{"markdown kept: a TextRun shows it literally", hLink + " " + hBold + " _it_ # h 1. x", "[click](https[:]//evil) **bold** _it_ # h 1. x"},
		{"html kept", hScript + " <at>Admin</at> &#x202E;&lt;", hScript + " <at>Admin</at> &#x202E;&lt;"},
		{"bare url defanged", "see https://evil.example/x and ftp://y", "see https[:]//evil.example/x and ftp[:]//y"},
		{"fullwidth colon", "https：//evil.example", "https[:]//evil.example"},
		{"fullwidth url", "ｈｔｔｐｓ：／／ｅｖｉｌ", "ｈｔｔｐｓ[:]／／ｅｖｉｌ"},
		{"small and vertical colons, ratio", "a﹕//b c︓//d e∶//f g꞉//h", "a[:]//b c[:]//d e[:]//f g[:]//h"},
		{"lookalike slashes", "https:∕∕evil https:⁄⁄evil", "https[:]∕∕evil https[:]⁄⁄evil"},
		{"backslashes", `https:\\evil.example`, `https[:]\\evil.example`},
		{"www host", "visit www.evil.example now", "visit www[.]evil.example now"},
		{"www any case, lookalike dots", "WWW.evil Www．evil ｗｗｗ。evil", "WWW[.]evil Www[.]evil ｗｗｗ[.]evil"},
		{"mailto", "mailto:a@evil.example MAILTO：b@evil", "mailto[:]a@evil.example MAILTO[:]b@evil"},
		{"colon without slashes kept", "Reason: denied, 10:30, javascript:alert(1)", "Reason: denied, 10:30, javascript:alert(1)"},
		{"dots kept elsewhere", "a.www b.c www", "a.www b.c www"},
		{"date template", hDate, "2024-01-01T00:00:00Z)}}"},
		{"time template lower case with spaces", "at { { time ( 2024-01-01T00:00:00Z)}}", "at 2024-01-01T00:00:00Z)}}"},
		{"template assembled by removal", "{{DA{{DATE(TE(x", "x"},
		{"template split by newline", "{{\nDATE(2024", "2024"},
		{"template split by control character", "{{\x00DATE(x", "x"},
		{"rtl override", hRTL, "invoicegpj.exe"},
		{"isolates and marks", "a\u2066b\u2069c\u200Fd\u061Ce", "abcde"},
		{"newlines collapse", "line one\r\n\r\nline two\ttab\u2028sep", "line one line two tab sep"},
		{"spaces trimmed", "  padded   name  ", "padded name"},
		{"escape sequence", "\x1b[31mred\x1b[0m", "[31mred[0m"},
		{"invisible", "Micro\u200Bsoft\uFEFF Gra\u00ADph\U000E0041", "Microsoft Graph"},
		{"zero-width joiner kept", "👩\u200D💻", "👩\u200D💻"},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
		{"non-latin", "Ärger über 東京", "Ärger über 東京"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := notify.Clean(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Clean(%q) (-want +got):\n%s", tc.in, diff)
			}
			if err := runSafe(got); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	long := strings.Repeat("Ab¢€𝄞", 1000) // 5,000 runes of 1 to 4 bytes
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "name", 10, "name"},
		{"exact", "abcde", 5, "abcde"},
		{"cut", "abcdef", 5, "abcd…"},
		{"rune safe", long, 7, "Ab¢€𝄞A…"},
		{"space before cut trimmed", "abc def", 5, "abc…"},
		{"zero", "abc", 0, ""},
		{"huge input cut before cleaning", strings.Repeat("\u202E", 1<<20) + "tail", 10, "…"},
		{"cleaned before counting", "a\u202Eb\u202Ec", 3, "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := notify.Limit(tc.in, tc.n)
			if got != tc.want {
				t.Errorf("Limit(%.40q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tc.n, 0) {
				t.Errorf("Limit(%.40q, %d) = %q: invalid or too long", tc.in, tc.n, got)
			}
		})
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{
		"", "plain", hLink, hBold, hScript, hDate, hRTL, "1. list", `\`, "{{{{DATE(DATE((",
		"{ {time (", "a\r\nb", "\x00\x1b[2J", "\xff\xfe", "&#x202E;", "<https://evil>", "www.evil.example",
		"https：／／x", "mailto：x", "ｗｗｗ．x", "www[.]x", "https[:]//x", "wwww..", ":://", "mailtomailto::",
		strings.Repeat("*", 300), "\u2066\u2067\u2068\u2069", "  # x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := notify.Clean(s)
		if err := runSafe(c); err != nil {
			t.Fatalf("Clean(%q) = %q: %v", s, c, err)
		}
		if notify.Clean(c) != c {
			t.Fatalf("Clean is not idempotent on %q", s)
		}
		for _, n := range []int{1, 7, 40} {
			if l := notify.Limit(s, n); runSafe(l) != nil || utf8.RuneCountInString(l) > n {
				t.Fatalf("Limit(%q, %d) = %q", s, n, l)
			}
		}
	})
}
