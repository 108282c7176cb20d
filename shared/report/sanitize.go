package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hiddenRune reports whether r is shown as a \u escape: control characters
// (C0, DEL, C1); format characters (Unicode category Cf), among them the
// bidirectional embeddings, overrides and isolates, the directional marks,
// the zero-width space, non-joiner and joiner (U+200B–U+200D), the word
// joiner (U+2060), the byte order mark (U+FEFF), the soft hyphen and the
// tag characters; and the line and paragraph separators. None of them shows
// as itself, so a name holding one could pass for another.
func hiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// escapeControls returns s with hidden runes written as \uXXXX and invalid
// UTF-8 bytes as \xXX. With keepLayout, newline and tab are kept.
func escapeControls(s string, keepLayout bool) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || hiddenRune(r) && !(keepLayout && (r == '\n' || r == '\t')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02X`, s[i])
		case keepLayout && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case hiddenRune(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// terminal makes a string safe to print on a terminal: no escape sequences,
// carriage returns, bells or bidirectional overrides reach it.
func terminal(s string) string { return escapeControls(s, false) }

// display makes a one-line string (a name, id, key, reason) safe to show in
// HTML text, after html/template's escaping: invisible and reordering
// characters, newlines and tabs included, become visible escapes.
func display(s string) string { return escapeControls(s, false) }

// displayValue is display for evidence values, which may legitimately span
// lines: newlines and tabs stay (the page shows them with white-space:
// pre-wrap).
func displayValue(s string) string { return escapeControls(s, true) }

// truncate shortens s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

// formulaStart reports whether r makes a spreadsheet read a cell as a formula.
func formulaStart(r rune) bool {
	switch r {
	case '=', '+', '-', '@',
		'＝', '＋', '－', '＠', // full-width forms
		'﹦', '﹢', '﹣', '﹫': // small forms
		return true
	}
	return false
}

// ignorable reports whether a spreadsheet may skip r before deciding that a
// cell is a formula: white space, control and invisible format characters.
func ignorable(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// cellNeedsQuote reports whether s, as a spreadsheet cell, could be read as a
// formula (CSV injection): it starts with tab, CR or LF, or its first
// character after ignorable ones starts a formula.
func cellNeedsQuote(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '\t', '\r', '\n':
		return true
	}
	t := strings.TrimLeftFunc(s, ignorable)
	r, _ := utf8.DecodeRuneInString(t)
	return formulaStart(r)
}

// safeCell neutralises a spreadsheet cell by prefixing a single quote when it
// could be read as a formula.
func safeCell(s string) string {
	if cellNeedsQuote(s) {
		return "'" + s
	}
	return s
}

// csvBreak reports whether r breaks a line or a column of text: tab, line
// feed, vertical tab, form feed, carriage return, next line (U+0085) and
// the line and paragraph separators.
func csvBreak(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// inertText makes s inert for a terminal that prints it (cat findings.csv):
// invalid UTF-8 becomes U+FFFD, each line or column break becomes a space
// (a name cannot forge a row), and every other C0 or C1 control character
// and DEL is removed, so that no escape sequence (ESC, CSI U+009B, OSC
// U+009D), bell or NUL reaches the terminal.
func inertText(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || csvBreak(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case csvBreak(r):
			b.WriteByte(' ')
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// csvCell is a findings.csv cell: inert text (see inertText), then quoted
// with a single quote when a spreadsheet could read it as a formula.
func csvCell(s string) string { return safeCell(inertText(s)) }

// Terminal returns s safe for one line of a terminal: control, bidi and
// other hidden characters are shown escaped, never interpreted. For
// commands that print tenant text (doctor).
func Terminal(s string) string { return terminal(s) }
