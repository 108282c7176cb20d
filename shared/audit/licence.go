package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// maxNesting bounds bracket recursion in the AssignedLicense text parser.
const maxNesting = 16

// LicenceChange is one user's licences changing in a "Change user license"
// or "Update user" record (Entra logs one or the other, sometimes only
// "Update user"), or in a record reassembled from split events.
type LicenceChange struct {
	// Record is the record; for a reassembled one, the split event with the
	// lowest sequence number.
	Record tenant.AuditEvent
	// User is the target: of type User or without a type, with an id. Its
	// modified properties are left out (they are decoded below).
	User tenant.Target
	// AssignedLicense and AssignedPlan are the user's properties, nil when
	// the record does not carry them (at least one is set).
	AssignedLicense *Change[Licence]
	AssignedPlan    *Change[Plan]
	// Parts is the number of split events reassembled; 0 for a whole
	// record.
	Parts int
}

func (LicenceChange) isEvent() {}

// LicenceChanges decodes the licence changes among records, in order:
// each user target of each record, then the records reassembled from split
// events (grouped across both activities).
func LicenceChanges(records []tenant.AuditEvent) []LicenceChange {
	return decodeAs[LicenceChange](records, familyLicences)
}

// decodeLicence gives a LicenceChange for each target of e that is a user
// (of type User, or without a type) with an id and carries AssignedLicense
// or AssignedPlan.
func decodeLicence(e tenant.AuditEvent) []Event {
	var out []Event
	for _, t := range e.Targets {
		if strings.TrimSpace(t.ID) == "" || !(typeIs(t, "User") || strings.TrimSpace(t.Type) == "") {
			continue
		}
		if c, ok := licenceChange(e, t, t.Modified, 0); ok {
			out = append(out, c)
		}
	}
	return out
}

// decodeSplitLicence gives the LicenceChange of a reassembled record: the
// first target of type User of its first split event, with an id.
func decodeSplitLicence(r splitRecord) []Event {
	t, ok := firstTarget(r.First, "User")
	if !ok || strings.TrimSpace(t.ID) == "" {
		return nil
	}
	if c, ok := licenceChange(r.First, t, r.Props, r.Parts); ok {
		return []Event{c}
	}
	return nil
}

func licenceChange(e tenant.AuditEvent, t tenant.Target, props []tenant.ModifiedProperty, parts int) (LicenceChange, bool) {
	t.Modified = nil
	c := LicenceChange{Record: e, User: t, Parts: parts}
	if p, ok := findProp(props, "AssignedLicense"); ok {
		c.AssignedLicense = &Change[Licence]{Property: p.Name, Old: parseAssignedLicenses(p.Old), New: parseAssignedLicenses(p.New)}
	}
	if p, ok := findProp(props, "AssignedPlan"); ok {
		c.AssignedPlan = &Change[Plan]{Property: p.Name, Old: parseAssignedPlans(p.Old), New: parseAssignedPlans(p.New)}
	}
	return c, c.AssignedLicense != nil || c.AssignedPlan != nil
}

// Licence is one licence in an AssignedLicense value:
// "[SkuName=ENTERPRISEPREMIUM, AccountId=<guid>, SkuId=<guid>, DisabledPlans=[<guid or name>, …]]".
type Licence struct {
	SkuName       string
	SkuID         string // SkuName or SkuID is set
	DisabledPlans []string
}

// parseAssignedLicenses reads an AssignedLicense old or new value: a JSON
// array of licence strings inside the string, a bare licence string, or
// several licences in one string. Licences without SkuId and SkuName are
// dropped.
func parseAssignedLicenses(raw string) []Licence {
	var out []Licence
	for _, el := range valueList(raw) {
		switch el := el.(type) {
		case string:
			out = append(out, licencesIn(el, 0)...)
		case map[string]any:
			if l, ok := licenceFromMap(el); ok {
				out = append(out, l)
			}
		}
	}
	return out
}

func licenceFromMap(m map[string]any) (Licence, bool) {
	l := Licence{SkuID: mapString(m, "SkuId"), SkuName: mapString(m, "SkuName")}
	if v, ok := mapGet(m, "DisabledPlans"); ok {
		if list, ok := v.([]any); ok {
			for _, p := range list {
				if s := scalarString(p); s != "" {
					l.DisabledPlans = append(l.DisabledPlans, s)
				}
			}
		}
	}
	return l, l.SkuID != "" || l.SkuName != ""
}

// licencesIn parses s: when its top-level fields name SkuId or SkuName it is
// one licence, otherwise each top-level bracket group is parsed in turn.
// Recursion stops at maxNesting, so the work is bounded by maxNesting
// passes over s.
func licencesIn(s string, depth int) []Licence {
	if depth > maxNesting {
		return nil
	}
	fields := splitTopLevel(s)
	var l Licence
	isLicence := false
	for _, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		if !ok || strings.ContainsAny(key, "[]") {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case strings.EqualFold(key, "SkuId"):
			l.SkuID, isLicence = val, true
		case strings.EqualFold(key, "SkuName"):
			l.SkuName, isLicence = val, true
		case strings.EqualFold(key, "DisabledPlans"):
			l.DisabledPlans = splitPlanList(val)
		}
	}
	if isLicence {
		if l.SkuID == "" && l.SkuName == "" {
			return nil
		}
		return []Licence{l}
	}
	var out []Licence
	for _, g := range topGroups(s) {
		out = append(out, licencesIn(g, depth+1)...)
	}
	return out
}

// topGroups returns the contents of the top-level bracket groups of s. An
// unmatched '[' runs to the end; an unmatched ']' is ignored.
func topGroups(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ']':
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 {
				out = append(out, s[start:i])
			}
		}
	}
	if depth > 0 {
		out = append(out, s[start:])
	}
	return out
}

// splitTopLevel splits s at commas outside brackets. An unmatched '[' runs
// to the end; an unmatched ']' is ignored.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// splitPlanList reads "[a, b]" (or "a, b") into its non-empty elements.
func splitPlanList(v string) []string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "[")
	v = strings.TrimSuffix(v, "]")
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.Trim(strings.TrimSpace(p), `"'`)
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Plan is one entry of an AssignedPlan value.
type Plan struct {
	ID      string // ServicePlanId; never empty
	Status  string // CapabilityStatus as written: "Enabled", "Deleted", "0", "3", "" …
	Enabled bool   // the plan works: Enabled, Warning (grace period) or no status
}

// parseAssignedPlans reads an AssignedPlan old or new value: a JSON array of
// objects with ServicePlanId and CapabilityStatus (a name, or a number where
// 0 = Enabled and 1 = Warning). Enabled and Warning (grace period: the plan
// still works) count as enabled; a missing status is taken as enabled, so it
// never reads as a disable.
func parseAssignedPlans(raw string) []Plan {
	var out []Plan
	for _, el := range valueList(raw) {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		p := Plan{ID: mapString(m, "ServicePlanId")}
		if p.ID == "" {
			continue
		}
		p.Status = mapString(m, "CapabilityStatus")
		switch strings.ToLower(p.Status) {
		case "", "enabled", "warning", "0", "1":
			p.Enabled = true
		}
		out = append(out, p)
	}
	return out
}
