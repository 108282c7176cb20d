package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isBreak reports whether r separates lines or words in a way that must not
// reach a card: tabs, line and paragraph breaks. Each run of them (with
// spaces) becomes one space.
func isBreak(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// dropped reports whether r is removed from tenant text: control characters
// (C0, DEL, C1), bidirectional embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069), directional marks, and invisible
// characters that let one name pass for another (zero-width space, word
// joiner and invisible operators, byte order mark, soft hyphen,
// interlinear annotation marks, tag characters). Zero-width joiner and
// non-joiner stay: scripts and emoji need them.
func dropped(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F:
		return true
	case r == 0x200B, r >= 0x2060 && r <= 0x2064, r == 0xFEFF, r == 0x00AD:
		return true
	case r >= 0xFFF9 && r <= 0xFFFB, r >= 0xE0000 && r <= 0xE007F:
		return true
	}
	return false
}

// clean neutralises tenant text for a card's TextRuns: invalid
// UTF-8 becomes U+FFFD, runs of spaces, tabs and line breaks become one
// space, dropped characters go, leading and trailing space is trimmed, and
// every Adaptive Card date/time function opener ({{DATE( or {{TIME(, in any
// case, with or without spaces) is removed, including openers that removing
// one would assemble. It runs in one pass, linear in len(s), and
// clean(clean(s)) == clean(s). URLs are defanged (see defang).
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	out := make([]byte, 0, len(s))
	space := false
	for _, r := range s {
		switch {
		case r == ' ' || isBreak(r):
			space = true
			continue
		case dropped(r):
			continue
		}
		if space && len(out) > 0 && out[len(out)-1] != ' ' {
			out = append(out, ' ')
		}
		space = false
		out = utf8.AppendRune(out, r)
		if r == '(' {
			out = out[:templateStart(out)]
		}
	}
	return defang(strings.TrimRight(string(out), " "))
}

// defang keeps tenant text from becoming a link: Teams clients may link
// bare URLs, www. hosts and e-mail links in any text, Markdown or not, and
// the card's only link is the report button. It writes
//
//   - the colon of "://" as "[:]" ("https://evil" → "https[:]//evil"),
//   - the colon after "mailto" as "[:]" ("mailto[:]a@evil.example"),
//   - the dot after "www" as "[.]" ("www[.]evil.example"),
//
// recognising lookalikes as well: the fullwidth forms of ASCII (ｗｗｗ．,
// ：／／), colons, dots and slashes that Unicode's confusables list maps to
// ":", "." and "/" (U+2236 RATIO, U+A789, U+0589, U+FE55 …), and a
// backslash as a slash (URL parsers read "https:\\" as "https://").
// Letters match in any case. Its output has no such pattern left, so
// defang(defang(s)) == defang(s).
func defang(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { f := fold(r); return f == ':' || f == '.' }) {
		return s
	}
	rs := []rune(s)
	f := make([]rune, len(rs))
	for i, r := range rs {
		f[i] = fold(r)
	}
	after := func(i int, word string) bool { // f[:i] ends with word
		if i < len(word) {
			return false
		}
		for j, c := range word {
			if f[i-len(word)+j] != c {
				return false
			}
		}
		return true
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range rs {
		switch {
		case f[i] == ':' && i+2 < len(rs) && f[i+1] == '/' && f[i+2] == '/',
			f[i] == ':' && after(i, "mailto"):
			b.WriteString("[:]")
		case f[i] == '.' && after(i, "www"):
			b.WriteString("[.]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fold maps r to the ASCII character it passes for in a URL, for defang:
// fullwidth ASCII to ASCII, ASCII letters to lower case, colon, dot and
// slash lookalikes to ":", "." and "/", a backslash to "/". Any other rune is
// returned as is.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E { // fullwidth ASCII
		r -= 0xFEE0
	}
	switch r {
	case ':', 0x02D0, 0x02F8, 0x0589, 0x05C3, 0x0703, 0x0704, 0x0903, 0x0A83, 0x16EC, 0x1803, 0x1809,
		0x205A, 0x2236, 0xA4FD, 0xA789, 0xFE13, 0xFE30, 0xFE55:
		return ':'
	case '.', 0x0660, 0x06D4, 0x06F0, 0x0701, 0x0702, 0x2024, 0x3002, 0xA4F8, 0xA60E, 0xFE52, 0xFF61:
		return '.'
	case '/', '\\', 0x1735, 0x2044, 0x2215, 0x2571, 0x27CB, 0x29F8, 0x2CC6, 0x2F03, 0x3033, 0x30CE, 0x31D3, 0x4E3F, 0xFE68:
		return '/'
	}
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// templateStart returns where a date/time function opener ends b (b ends
// with "("), or len(b) when b does not end with one. Spaces in b are single
// (clean collapses them), so the pattern is
// "{" [" "] "{" [" "] ("DATE"|"TIME") [" "] "(" , case-insensitively.
func templateStart(b []byte) int {
	i := len(b) - 1 // at '('
	skip := func() {
		if i > 0 && b[i-1] == ' ' {
			i--
		}
	}
	skip()
	if i < 4 {
		return len(b)
	}
	word := strings.ToUpper(string(b[i-4 : i]))
	if word != "DATE" && word != "TIME" {
		return len(b)
	}
	i -= 4
	skip()
	if i < 1 || b[i-1] != '{' {
		return len(b)
	}
	i--
	skip()
	if i < 1 || b[i-1] != '{' {
		return len(b)
	}
	return i - 1
}

// truncate shortens s to at most n runes, ending with "…" when it cuts; with
// force it ends with "…" in any case (the text was cut earlier).
func truncate(s string, n int, force bool) string {
	if n <= 0 {
		return ""
	}
	if !force && utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return strings.TrimRight(s[:i], " ") + "…"
}

// limit is clean followed by truncate to n runes. A huge s is cut (at a rune
// boundary) before cleaning, so the cost does not depend on its length; the
// result then ends with "…".
func limit(s string, n int) string {
	if n <= 0 {
		return ""
	}
	cut := false
	if max := 8*n + 64; len(s) > max {
		for max > 0 && !utf8.RuneStart(s[max]) {
			max--
		}
		s, cut = s[:max], true
	}
	return truncate(clean(s), n, cut)
}

// plain is tenant text for a TextRun, which renders no Markdown: cleaned and
// limited to n runes, nothing escaped (a TextRun shows its text literally,
// so an escape would show too).
func plain(s string, n int) string { return limit(s, n) }
