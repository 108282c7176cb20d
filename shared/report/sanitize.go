package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hiddenRune reports whether r is shown as a \u escape: control characters
// (C0, DEL, C1), bidirectional embeddings, overrides and isolates,
// directional marks, and the line and paragraph separators.
func hiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, r == 0x2028, r == 0x2029:
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

// Terminal returns s safe for one line of a terminal: control, bidi and
// other hidden characters are shown escaped, never interpreted. For
// commands that print tenant text (doctor).
func Terminal(s string) string { return terminal(s) }
