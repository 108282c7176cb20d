package exoaudit

import "strings"

// ActionList is the value of a multi-valued audit action parameter
// (Set-Mailbox -AuditOwner, -AuditDelegate, -AuditAdmin) as the admin
// record gives it. Exchange records the actions separated by ";", each
// prefixed "+" when it was added to the mailbox's set and "-" when it was
// removed ("+MailItemsAccessed;-Update"), and without a prefix when the
// list replaced the set ("Update;SendAs"); the set before is not recorded.
// Other spellings seen in exports are read too: commas, braces
// ("{Update, MailItemsAccessed}") and the PowerShell hashtable of the
// command line ("@{Add=\"MailItemsAccessed\"; Remove=\"Update\"}").
type ActionList struct {
	// Replace reports that the value names the whole new set (Set).
	Replace bool
	Set     []string
	Added   []string
	Removed []string
}

// maxActions bounds the actions read from one value.
const maxActions = 64

// AuditActions reads a multi-valued action parameter. "None" (or an empty
// list) replacing the set means no action is audited.
func AuditActions(value string) ActionList {
	v := strings.TrimSpace(value)
	if strings.HasPrefix(v, "@{") && strings.HasSuffix(v, "}") {
		return hashtable(v[2 : len(v)-1])
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "{"), "}")
	var l ActionList
	for _, item := range splitActions(v) {
		switch item[0] {
		case '+':
			if a := cleanAction(item[1:]); a != "" {
				l.Added = append(l.Added, a)
			}
		case '-':
			if a := cleanAction(item[1:]); a != "" {
				l.Removed = append(l.Removed, a)
			}
		default:
			l.Replace = true
			if a := cleanAction(item); a != "" && !strings.EqualFold(a, "None") {
				l.Set = append(l.Set, a)
			}
		}
	}
	if len(l.Added)+len(l.Removed)+len(l.Set) == 0 {
		l.Replace = true // "" or "None": nothing is audited
	}
	return l
}

// hashtable reads "Add=a,b; Remove=c" (the inside of @{…}).
func hashtable(s string) ActionList {
	var l ActionList
	for _, part := range strings.Split(s, ";") {
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		var dst *[]string
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "add":
			dst = &l.Added
		case "remove":
			dst = &l.Removed
		default:
			continue
		}
		for _, item := range splitActions(val) {
			if a := cleanAction(item); a != "" {
				*dst = append(*dst, a)
			}
		}
	}
	return l
}

// splitActions splits on ";" and "," and drops empty items; at most
// maxActions items.
func splitActions(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" && len(out) < maxActions {
			out = append(out, f)
		}
	}
	return out
}

// cleanAction trims space and quotes from an action name.
func cleanAction(s string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(s), `"'`))
}

// Has reports whether list holds action (case-insensitively).
func Has(list []string, action string) bool {
	for _, a := range list {
		if strings.EqualFold(a, action) {
			return true
		}
	}
	return false
}
