package audit

import (
	"strings"
	"unicode"
)

// normActivity normalises an activity name for comparison: every dash-like
// rune becomes '-', runs of white space become one space, surrounding space
// and trailing periods go (the unified audit log spells "Change user
// license."), and the result is lower case.
func normActivity(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\u2212' || unicode.Is(unicode.Pd, r): // − and – — ‒ ― ‐ ‑ …
			return '-'
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSpace(strings.TrimRight(s, "."))
	return strings.ToLower(s)
}
