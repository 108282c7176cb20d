package notify_test

import (
	"fmt"
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

func TestEscapeMarkdown(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Contoso Mail Archiver", "Contoso Mail Archiver"},
		{"empty", "", ""},
		{"link", hLink, `\[click\]\(https\[:\]//evil\)`},
		{"bare url defanged", "see https://evil.example/x and ftp://y", `see https\[:\]//evil.example/x and ftp\[:\]//y`},
		{"bold", hBold, `\*\*bold\*\*`},
		{"italic", "_it_", `\_it\_`},
		{"html", hScript, `\<script\>alert\(1\)\</script\>`},
		{"mention", "<at>Admin</at>", `\<at\>Admin\</at\>`},
		{"entity", "&#x202E;&lt;", `\&\#x202E;\&lt;`},
		{"date template", hDate, `2024\-01\-01T00:00:00Z\)}}`},
		{"time template lower case with spaces", "at { { time ( 2024-01-01T00:00:00Z)}}", `at 2024\-01\-01T00:00:00Z\)}}`},
		{"template assembled by removal", "{{DA{{DATE(TE(x", "x"},
		{"template split by newline", "{{\nDATE(2024", "2024"},
		{"template split by control character", "{{\x00DATE(x", "x"},
		{"rtl override", hRTL, "invoicegpj.exe"},
		{"isolates and marks", "a\u2066b\u2069c\u200Fd\u061Ce", "abcde"},
		{"newlines collapse", "line one\r\n\r\nline two\ttab\u2028sep", "line one line two tab sep"},
		{"spaces trimmed", "  padded   name  ", "padded name"},
		{"ordered list", "1. item", `1\. item`},
		{"ordered list after spaces", "   42.x", `42\.x`},
		{"digits without dot", "2024 plan", "2024 plan"},
		{"heading", "# heading", `\# heading`},
		{"quote list table code strike", "> q - a + b | c `d` ~~e~~ !f", `\> q \- a \+ b \| c \` + "`" + `d\` + "`" + ` \~\~e\~\~ \!f`},
		{"backslash", `back\slash\*`, `back\\slash\\\*`},
		{"escape sequence", "\x1b[31mred\x1b[0m", `\[31mred\[0m`},
		{"invisible", "Micro\u200Bsoft\uFEFF Gra\u00ADph\U000E0041", "Microsoft Graph"},
		{"zero-width joiner kept", "👩\u200D💻", "👩\u200D💻"},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
		{"non-latin", "Ärger über 東京", "Ärger über 東京"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := notify.EscapeMarkdown(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("EscapeMarkdown(%q) (-want +got):\n%s", tc.in, diff)
			}
			if err := markdownSafe(got); err != nil {
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

func ExampleEscapeMarkdown() {
	fmt.Println(notify.EscapeMarkdown("[click](https://evil) **now**\n{{DATE(2024-01-01T00:00:00Z)}}"))
	// Output: \[click\]\(https\[:\]//evil\) \*\*now\*\* 2024\-01\-01T00:00:00Z\)}}
}

// unescape removes EscapeMarkdown's backslashes.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func FuzzEscapeMarkdown(f *testing.F) {
	for _, s := range []string{
		"", "plain", hLink, hBold, hScript, hDate, hRTL, "1. list", "12.5%", `\`, `\\*`, "{{{{DATE(DATE((",
		"{ {time (", "a\r\nb", "\x00\x1b[2J", "\xff\xfe", "&#x202E;", "<https://evil>", "www.evil.example",
		strings.Repeat("*", 300), "\u2066\u2067\u2068\u2069", "  # x", "~~~", "`code`",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := notify.EscapeMarkdown(s)
		if err := markdownSafe(got); err != nil {
			t.Fatalf("EscapeMarkdown(%q) = %q: %v", s, got, err)
		}
		// Escaping loses nothing: unescaped, it is the cleaned text.
		if u, c := unescape(got), notify.Clean(s); u != c {
			t.Fatalf("EscapeMarkdown(%q) unescapes to %q, want the cleaned %q", s, u, c)
		}
		// Cleaning is stable.
		if c := notify.Clean(s); notify.Clean(c) != c {
			t.Fatalf("Clean is not idempotent on %q", s)
		}
	})
}
