package report

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeCell(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"Contoso Backup", "Contoso Backup"},
		{"2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"},
		{"T1098.001;T1078.004", "T1098.001;T1078.004"},
		{`{"a":"=1"}`, `{"a":"=1"}`},
		{"a=b", "a=b"},
		{"user@contoso.com", "user@contoso.com"},
		{"'already quoted", "'already quoted"},
		{"<script>alert(1)</script>", "<script>alert(1)</script>"},
		{`=HYPERLINK("https://evil.example","x")`, `'=HYPERLINK("https://evil.example","x")`},
		{`+cmd|' /C calc'!A0`, `'+cmd|' /C calc'!A0`},
		{"@SUM(1)", "'@SUM(1)"},
		{"-1+1", "'-1+1"},
		{"-", "'-"},
		{"\t=1", "'\t=1"},
		{"\tplain", "'\tplain"},
		{"\r=1", "'\r=1"},
		{"\rplain", "'\rplain"},
		{"\nplain", "'\nplain"},
		{" =1", "' =1"},
		{"   @x", "'   @x"},
		{"\u00a0=1", "'\u00a0=1"},      // no-break space
		{"\u3000=1", "'\u3000=1"},      // ideographic space
		{"\u200b=1", "'\u200b=1"},      // zero-width space (format character)
		{"\ufeff+1", "'\ufeff+1"},      // byte order mark
		{"\u202e=1", "'\u202e=1"},      // right-to-left override
		{"\x00=1", "'\x00=1"},          // NUL
		{"＝1+1", "'＝1+1"},              // full-width equals
		{"＋1", "'＋1"},                  // full-width plus
		{"－1", "'－1"},                  // full-width hyphen-minus
		{"＠SUM(1)", "'＠SUM(1)"},        // full-width commercial at
		{"﹦1", "'﹦1"},                  // small equals
		{" plain", " plain"},           // space then text: harmless
		{"\x1b[2Jroot", "\x1b[2Jroot"}, // ESC is not a formula character
	}
	for _, tc := range tests {
		if got := safeCell(tc.in); got != tc.want {
			t.Errorf("safeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"Contoso Backup", "Contoso Backup"},
		{"Zoë 東京 ﷽", "Zoë 東京 ﷽"},
		{"שלום", "שלום"}, // right-to-left text itself is fine
		{"\x1b[2J\x1b[31mroot", `\u001B[2J\u001B[31mroot`},
		{"ok\rEVIL", `ok\u000DEVIL`},
		{"ding\a", `ding\u0007`},
		{"a\nb\tc", `a\u000Ab\u0009c`},
		{"\x7f", `\u007F`},
		{"\u009b31m", `\u009B31m`}, // C1 CSI
		{"invoice\u202Efdp.exe", `invoice\u202Efdp.exe`},
		{"\u202A\u202B\u202C\u202D", `\u202A\u202B\u202C\u202D`},
		{"\u2066x\u2067y\u2068z\u2069", `\u2066x\u2067y\u2068z\u2069`},
		{"\u200E\u200F\u061C", `\u200E\u200F\u061C`},
		{"line\u2028sep\u2029", `line\u2028sep\u2029`},
		{"zero\u200Bwidth", `zero\u200Bwidth`},
		{"non\u200Cjoiner\u200Djoiner", `non\u200Cjoiner\u200Djoiner`},
		{"word\u2060joiner", `word\u2060joiner`},
		{"\uFEFFbom", `\uFEFFbom`},
		{"soft\u00ADhyphen", `soft\u00ADhyphen`},
		{"tag\U000E0041", `tag\uE0041`},
		{"bad\xffutf8\xc3", `bad\xFFutf8\xC3`},
		{"\uFFFD is fine", "\uFFFD is fine"},
	}
	for _, tc := range tests {
		if got := terminal(tc.in); got != tc.want {
			t.Errorf("terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Evidence values keep layout; everything else is escaped the same way.
	if got, want := displayValue("a\nb\tc\r\x1b"), "a\nb\tc\\u000D\\u001B"; got != want {
		t.Errorf("displayValue = %q, want %q", got, want)
	}
	if got, want := display("a\nb"), `a\u000Ab`; got != want {
		t.Errorf("display = %q, want %q", got, want)
	}
}

func TestCSVCell(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"Contoso Backup", "Contoso Backup"},
		{"Zoë 東京 ﷽ invoice\u202Efdp.exe", "Zoë 東京 ﷽ invoice\u202Efdp.exe"}, // not controls: kept
		{"\x1b[2J\x1b[31mroot\x1b[0m", "[2J[31mroot[0m"},                   // ESC
		{"\x1b]8;;https://evil\x07x\x1b]8;;\x07", "]8;;https://evilx]8;;"}, // OSC 8 hyperlink, BEL
		{"ding\a", "ding"},
		{"nul\x00byte", "nulbyte"},
		{"del\x7f", "del"},
		{"\u009b31mred", "31mred"},         // C1 CSI as a character
		{"\x9b31mred", "\uFFFD31mred"},     // C1 CSI as a raw byte: invalid UTF-8
		{"\u009d0;title\u009c", "0;title"}, // C1 OSC and ST
		{"one\ntwo\r\nthree", "one two  three"},
		{"a\tb\vc\fd\u0085e\u2028f\u2029g", "a b c d e f g"},
		{"ok\rEVIL", "ok EVIL"},
		{"\t=1+1", "' =1+1"}, // the break became a space; then a formula: quoted
		{"\x1b=1", "'=1"},    // the control went; then a formula: quoted
		{"=1\x1b", "'=1"},    // quoted after cleaning
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"zero\u200Bwidth", "zero\u200Bwidth"}, // invisible, but it drives nothing
	}
	for _, tc := range tests {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven-char", 10, "eleven-ch…"},
		{"東京東京東京", 4, "東京東…"},
	}
	for _, tc := range tests {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestMitreURL(t *testing.T) {
	t.Parallel()
	re := mitreID()
	tests := map[string]string{
		"T1098.001":           "https://attack.mitre.org/techniques/T1098/001/",
		"T1098":               "https://attack.mitre.org/techniques/T1098/",
		"T1562.008":           "https://attack.mitre.org/techniques/T1562/008/",
		"t1098":               "",
		"T109":                "",
		"T10980":              "",
		"T1098.01":            "",
		"T1098.0011":          "",
		"T1098/001":           "",
		"T1098.001\n":         "",
		"javascript:alert(1)": "",
		"T1098.001/../../x":   "",
		"TA0001":              "",
		"T１０９８":               "", // full-width digits are not \d in RE2
		"":                    "",
	}
	for id, want := range tests {
		if got := mitreURL(re, id); got != want {
			t.Errorf("mitreURL(%q) = %q, want %q", id, got, want)
		}
	}
}

// FuzzSanitize checks the properties the sinks rely on: terminal output holds
// no hidden rune and is valid UTF-8, display output likewise, and a cell that
// still looks like a formula after safeCell starts with a quote.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "=1+1", " \t@x", "\x1b[2J", "a\u202eb", "\xff\xfe", "＝1", "\u200b-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"terminal": terminal(s), "display": display(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("%s(%q) = %q: invalid UTF-8", name, s, out)
			}
			for _, r := range out {
				if hiddenRune(r) {
					t.Fatalf("%s(%q) = %q: contains %U", name, s, out, r)
				}
			}
		}
		cell := csvCell(s)
		if !utf8.ValidString(cell) {
			t.Fatalf("csvCell(%q) = %q: invalid UTF-8", s, cell)
		}
		for _, r := range cell {
			if unicode.IsControl(r) {
				t.Fatalf("csvCell(%q) = %q: contains %U", s, cell, r)
			}
		}
		if cellNeedsQuote(cell) && !strings.HasPrefix(cell, "'") {
			t.Fatalf("csvCell(%q) = %q: unquoted formula", s, cell)
		}
		c := safeCell(s)
		if c != s && c != "'"+s {
			t.Fatalf("safeCell(%q) = %q: changed more than a prefix", s, c)
		}
		if cellNeedsQuote(s) && !strings.HasPrefix(c, "'") {
			t.Fatalf("safeCell(%q) = %q: unquoted formula", s, c)
		}
	})
}
