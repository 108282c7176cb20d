package notify

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// markdownSpecials are the ASCII characters EscapeMarkdown writes with a
// backslash in front. CommonMark lets any ASCII punctuation be escaped, so
// every one of them renders as itself. Besides the characters Markdown uses
// for emphasis, links, lists, headings, quotes, code and tables, the set holds
// < (autolinks, Teams' <at> mentions, HTML that some clients choke on) and &
// (entity references such as &#x202E; would otherwise smuggle in characters
// that are stripped).
const markdownSpecials = "\\*_[]()#-+!`>|~<&"

// isSpecial reports whether b is one of markdownSpecials.
func isSpecial(b byte) bool { return strings.IndexByte(markdownSpecials, b) >= 0 }

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

// clean neutralises tenant text for any card field, Markdown or not: invalid
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

// defang writes every "://" as "[:]//", so that a URL in tenant text
// (a reply URL, a display name such as "https://evil.example") cannot
// become a link: Teams may link bare URLs in any text field, escaped or
// not. The card's only link is the report button.
func defang(s string) string { return strings.ReplaceAll(s, "://", "[:]//") }

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
// limited to n runes, nothing escaped.
func plain(s string, n int) string { return limit(s, n) }

// md is tenant text for a Markdown field (TextBlock text, Fact title and
// value): cleaned, limited to n runes, then escaped.
func md(s string, n int) string { return escapeClean(limit(s, n)) }

// EscapeMarkdown makes s safe as the text of an Adaptive Card TextBlock or
// the title or value of a Fact, where Teams renders a Markdown subset. It
// first neutralises s as every card field is: invalid UTF-8 becomes U+FFFD;
// control characters, bidirectional embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069), directional marks and invisible
// characters are removed; runs of spaces, tabs and line breaks become one
// space and the ends are trimmed; {{DATE( and {{TIME( openers are removed.
// Then it puts a backslash before each of \ * _ [ ] ( ) # - + ! ` > | ~ < &
// and before a "." that follows leading digits (an ordered-list marker).
// HTML is not rendered by Teams; < and & are escaped so that neither an
// autolink, a mention nor an entity reference can form. It does not shorten
// s; callers bound the length first.
func EscapeMarkdown(s string) string { return escapeClean(clean(s)) }

// escapeClean escapes already clean text.
func escapeClean(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isSpecial(s[i]) {
			n++
		}
	}
	lead := leadingDigits(s)
	listDot := lead > 0 && lead < len(s) && s[lead] == '.'
	if n == 0 && !listDot {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + n + 1)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpecial(c) || (listDot && i == lead) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// leadingDigits returns how many ASCII digits s starts with.
func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
