package detect

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// This file holds the parsing the detectors share: activity names, the
// doubly encoded modifiedProperties values, and the text formats Entra ID
// writes into them (KeyDescription, AssignedLicense, AssignedPlan,
// AppAddress/ReplyUrls, Role.*). Every value is attacker-influenced (display
// names, URLs), so parsers never panic, never recurse without a bound and
// drop what they cannot read.

// maxDecodeDepth bounds how many times decodeValue unwraps JSON held in a
// JSON string (Graph encodes once; some exports encode twice).
const maxDecodeDepth = 4

// maxNesting bounds bracket recursion in the AssignedLicense text parser.
const maxNesting = 16

// Activity names the detectors match, as Graph spells them. Compare with
// activityIs, which normalises case, dashes, spacing and a trailing period.
const (
	actChangeUserLicense      = "Change user license"
	actUpdateUser             = "Update user"
	actRegisteredSecurityInfo = "User registered security info"
	actRegisteredAllRequired  = "User registered all required security info"
	actAddSPCredentials       = "Add service principal credentials"
	actUpdateAppCredentials   = "Update application - Certificates and secrets management"
	actUpdateSP               = "Update service principal"
	actUpdateApplication      = "Update application"
	actAddMemberToRole        = "Add member to role"
	actAddEligibleMember      = "Add eligible member to role"
	actAddAppRoleAssignment   = "Add app role assignment to service principal"
)

// normActivity normalises an activity name for comparison: every dash-like
// rune becomes '-', runs of white space become one space, surrounding space
// and trailing periods go (UAL spells "Change user license."), and the result
// is lower case.
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

// activityIs reports whether e's activity is one of names, after normalising
// both sides.
func activityIs(e tenant.AuditEvent, names ...string) bool {
	got := normActivity(e.Activity)
	for _, n := range names {
		if normActivity(n) == got {
			return true
		}
	}
	return false
}

// inWindow reports whether t is inside the snapshot's audit window
// (t >= Since).
func inWindow(in *Input, t time.Time) bool { return !t.Before(in.Snapshot.Since) }

// auditEvents returns the successful events in the window whose activity is
// one of names, ordered by time (ties keep their input order).
func auditEvents(in *Input, names ...string) []tenant.AuditEvent {
	var out []tenant.AuditEvent
	for _, e := range in.Snapshot.Audits {
		if e.Succeeded() && inWindow(in, e.Time) && activityIs(e, names...) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b tenant.AuditEvent) int { return a.Time.Compare(b.Time) })
	return out
}

// typeIs reports whether a target type equals want, case-insensitively.
func typeIs(t tenant.Target, want string) bool {
	return strings.EqualFold(strings.TrimSpace(t.Type), want)
}

// firstTarget returns the first target whose type is one of types.
func firstTarget(e tenant.AuditEvent, types ...string) (tenant.Target, bool) {
	for _, t := range e.Targets {
		for _, ty := range types {
			if typeIs(t, ty) {
				return t, true
			}
		}
	}
	return tenant.Target{}, false
}

// findProp returns the modified property called name (case-insensitive).
func findProp(props []tenant.ModifiedProperty, name string) (tenant.ModifiedProperty, bool) {
	for _, p := range props {
		if strings.EqualFold(strings.TrimSpace(p.Name), name) {
			return p, true
		}
	}
	return tenant.ModifiedProperty{}, false
}

// eventProp returns the first modified property called name on any target.
func eventProp(e tenant.AuditEvent, name string) (tenant.ModifiedProperty, bool) {
	for _, t := range e.Targets {
		if p, ok := findProp(t.Modified, name); ok {
			return p, true
		}
	}
	return tenant.ModifiedProperty{}, false
}

// decodeValue decodes one oldValue or newValue. Graph sends JSON text inside
// a string ("\"Global Administrator\"", "[\"KeyIdentifier=…\"]"): the value
// is decoded once more when it is valid JSON, and again while the result is
// a string that itself holds a JSON array, object or string (up to
// maxDecodeDepth). Text that is not JSON is returned trimmed, as a string.
// Empty input and JSON null give nil. Numbers come back as json.Number.
func decodeValue(raw string) any {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil
	}
	for range maxDecodeDepth {
		if !json.Valid([]byte(s)) {
			return s
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return s
		}
		str, ok := v.(string)
		if !ok {
			return v
		}
		str = strings.TrimSpace(str)
		if str == "" {
			return nil
		}
		if c := str[0]; c != '[' && c != '{' && c != '"' {
			return str
		}
		s = str
	}
	return s
}

// valueString returns a modified value as text: the decoded string, a
// number's or bool's text, or the only element of a one-element array.
// Objects, longer arrays, null and empty give "".
func valueString(raw string) string { return scalarString(decodeValue(raw)) }

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		if len(v) == 1 {
			if _, nested := v[0].([]any); !nested {
				return scalarString(v[0])
			}
		}
	}
	return ""
}

// valueList returns a modified value as a list: a decoded array as is, null
// or empty as nil, any other value as a one-element list.
func valueList(raw string) []any {
	switch v := decodeValue(raw).(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// mapGet returns m[key] with key matched case-insensitively (exact match
// first).
func mapGet(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// mapString returns m[key] as text (see scalarString).
func mapString(m map[string]any, key string) string {
	v, _ := mapGet(m, key)
	return scalarString(v)
}

// indexFold returns the index of the first ASCII-case-insensitive match of
// sub in s at or after from, or -1. It works on bytes, so indexes stay valid
// for any input (strings.ToLower can change byte lengths).
func indexFold(s, sub string, from int) int {
	if from < 0 {
		from = 0
	}
	for i := from; i+len(sub) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// KeyDescription ("Add service principal credentials", "Update application –
// Certificates and secrets management").

// keyDescription is one item of a KeyDescription value:
// "[KeyIdentifier=<guid>,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=Foo, Inc]".
type keyDescription struct {
	KeyID       string
	KeyType     string
	KeyUsage    string
	DisplayName string
}

// parseKeyDescriptions reads a KeyDescription old or new value: normally a
// JSON array of item strings inside the string. Each array element is one
// item, whatever its display name holds. A bare string is split into items
// at each "[KeyIdentifier=". Items without a key identifier are dropped.
func parseKeyDescriptions(raw string) []keyDescription {
	var out []keyDescription
	add := func(k keyDescription, ok bool) {
		if ok {
			out = append(out, k)
		}
	}
	switch v := decodeValue(raw).(type) {
	case []any:
		for _, el := range v {
			switch el := el.(type) {
			case string:
				add(parseKeyItem(el))
			case map[string]any:
				add(keyItemFromMap(el))
			}
		}
	case string:
		for _, part := range splitKeyItems(v) {
			add(parseKeyItem(part))
		}
	case map[string]any:
		add(keyItemFromMap(v))
	}
	return out
}

func keyItemFromMap(m map[string]any) (keyDescription, bool) {
	k := keyDescription{
		KeyID:       mapString(m, "KeyIdentifier"),
		KeyType:     mapString(m, "KeyType"),
		KeyUsage:    mapString(m, "KeyUsage"),
		DisplayName: mapString(m, "DisplayName"),
	}
	if k.KeyID == "" {
		k.KeyID = mapString(m, "KeyId")
	}
	return k, k.KeyID != ""
}

// splitKeyItems splits a bare string holding several items.
func splitKeyItems(s string) []string {
	const marker = "[KeyIdentifier="
	s = strings.TrimSpace(s)
	var starts []int
	for i := indexFold(s, marker, 0); i >= 0; i = indexFold(s, marker, i+1) {
		starts = append(starts, i)
	}
	if len(starts) < 2 {
		return []string{s}
	}
	if strings.HasPrefix(s, "[[") && strings.HasSuffix(s, "]]") && starts[0] == 1 {
		s = s[:len(s)-1] // the outer list's closing bracket
	}
	parts := make([]string, 0, len(starts))
	for i, st := range starts {
		end := len(s)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		parts = append(parts, strings.TrimRight(s[st:end], " ,\t\r\n"))
	}
	return parts
}

// parseKeyItem reads one item. DisplayName is the last field and may hold
// commas, '=' and brackets: everything after the first "DisplayName=" at a
// field boundary belongs to it, less the item's closing bracket.
func parseKeyItem(s string) (keyDescription, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		s = strings.TrimPrefix(s, "[")
		s = strings.TrimSuffix(s, "]")
	}
	head, name, found := s, "", false
	for i := indexFold(s, "DisplayName=", 0); i >= 0; i = indexFold(s, "DisplayName=", i+1) {
		if atFieldStart(s, i) {
			head, name, found = s[:i], s[i+len("DisplayName="):], true
			break
		}
	}
	var k keyDescription
	if found {
		k.DisplayName = name
	}
	for _, f := range strings.Split(head, ",") {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case strings.EqualFold(key, "KeyIdentifier"), strings.EqualFold(key, "KeyId"):
			if k.KeyID == "" {
				k.KeyID = val
			}
		case strings.EqualFold(key, "KeyType"):
			k.KeyType = val
		case strings.EqualFold(key, "KeyUsage"):
			k.KeyUsage = val
		}
	}
	return k, k.KeyID != ""
}

// atFieldStart reports whether position i of s starts a field: the start of
// s, or after a comma and optional spaces.
func atFieldStart(s string, i int) bool {
	j := i - 1
	for j >= 0 && s[j] == ' ' {
		j--
	}
	return j < 0 || s[j] == ','
}

// newKeys returns the items of newItems whose key identifier is not among
// oldItems (case-insensitive), first occurrence only.
func newKeys(oldItems, newItems []keyDescription) []keyDescription {
	had := make(map[string]bool, len(oldItems))
	for _, k := range oldItems {
		had[strings.ToLower(k.KeyID)] = true
	}
	var out []keyDescription
	for _, k := range newItems {
		id := strings.ToLower(k.KeyID)
		if had[id] {
			continue
		}
		had[id] = true
		out = append(out, k)
	}
	return out
}

// ---------------------------------------------------------------------------
// AssignedLicense ("Change user license", "Update user").

// licenceText is one licence in an AssignedLicense value:
// "[SkuName=ENTERPRISEPREMIUM, AccountId=<guid>, SkuId=<guid>, DisabledPlans=[<guid or name>, …]]".
type licenceText struct {
	SkuName       string
	SkuID         string
	DisabledPlans []string
}

// parseAssignedLicenses reads an AssignedLicense old or new value: a JSON
// array of licence strings inside the string, a bare licence string, or
// several licences in one string. Licences without SkuId and SkuName are
// dropped.
func parseAssignedLicenses(raw string) []licenceText {
	var out []licenceText
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

func licenceFromMap(m map[string]any) (licenceText, bool) {
	l := licenceText{SkuID: mapString(m, "SkuId"), SkuName: mapString(m, "SkuName")}
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
func licencesIn(s string, depth int) []licenceText {
	if depth > maxNesting {
		return nil
	}
	fields := splitTopLevel(s)
	var l licenceText
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
		return []licenceText{l}
	}
	var out []licenceText
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

// ---------------------------------------------------------------------------
// AssignedPlan.

// planState is one entry of an AssignedPlan value.
type planState struct {
	PlanID  string
	Status  string // as written: "Enabled", "Deleted", "0", "3", "" …
	Enabled bool
}

// parseAssignedPlans reads an AssignedPlan old or new value: a JSON array of
// objects with ServicePlanId and CapabilityStatus (a name, or a number where
// 0 = Enabled and 1 = Warning). Enabled and Warning (grace period: the plan
// still works) count as enabled; a missing status is taken as enabled, so it
// never reads as a disable.
func parseAssignedPlans(raw string) []planState {
	var out []planState
	for _, el := range valueList(raw) {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		p := planState{PlanID: mapString(m, "ServicePlanId")}
		if p.PlanID == "" {
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

// ---------------------------------------------------------------------------
// AppAddress / ReplyUrls ("Update application", "Update service principal").

// parseAddresses reads an AppAddress value (JSON array of objects with
// "Address") or a ReplyUrls value (JSON array of strings), returning the
// trimmed, non-empty addresses in order, without repeats.
func parseAddresses(raw string) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, el := range valueList(raw) {
		switch el := el.(type) {
		case string:
			add(el)
		case map[string]any:
			add(mapString(el, "Address"))
		}
	}
	return out
}

// addedAddresses returns the addresses in newVals that are not in oldVals,
// sorted.
func addedAddresses(oldVals, newVals []string) []string {
	had := make(map[string]bool, len(oldVals))
	for _, a := range oldVals {
		had[a] = true
	}
	var out []string
	for _, a := range newVals {
		if !had[a] {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ---------------------------------------------------------------------------
// Split ("sequence") events: since about mid-2024 Entra cuts large licence
// changes into several events that carry, in additionalDetails, a shared id,
// a sequence number (seq), a chunk count (c) and a fragment (b) of the
// escaped JSON of the original record, and no modifiedProperties. The format
// is documented only by observers; this reassembly is best effort.

// splitGroup is one reassembled record.
type splitGroup struct {
	First tenant.AuditEvent // the chunk with the lowest sequence number
	Parts int
	Props []tenant.ModifiedProperty
}

// reassembleSplit groups events by their sequence id, and for each complete
// group joins the fragments in order and reads the modified properties from
// the result. Incomplete or unreadable groups are dropped.
func reassembleSplit(events []tenant.AuditEvent) []splitGroup {
	type chunk struct {
		ev  tenant.AuditEvent
		seq int
		b   string
	}
	groups := make(map[string][]chunk)
	counts := make(map[string]int)
	var order []string
	for _, e := range events {
		id, seqS, cS, b := detail(e, "id"), detail(e, "seq"), detail(e, "c"), detailRaw(e, "b")
		if id == "" || seqS == "" || cS == "" {
			continue
		}
		seq, err1 := strconv.Atoi(seqS)
		c, err2 := strconv.Atoi(cS)
		if err1 != nil || err2 != nil || c <= 0 || c > 1000 {
			continue
		}
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], chunk{ev: e, seq: seq, b: b})
		counts[id] = c
	}
	var out []splitGroup
	for _, id := range order {
		cs := groups[id]
		slices.SortStableFunc(cs, func(a, b chunk) int { return a.seq - b.seq })
		cs = slices.CompactFunc(cs, func(a, b chunk) bool { return a.seq == b.seq })
		if len(cs) != counts[id] {
			continue
		}
		var sb strings.Builder
		for _, c := range cs {
			sb.WriteString(c.b)
		}
		props := propsFromBlob(sb.String())
		if len(props) == 0 {
			continue
		}
		out = append(out, splitGroup{First: cs[0].ev, Parts: len(cs), Props: props})
	}
	return out
}

func detail(e tenant.AuditEvent, key string) string { return strings.TrimSpace(detailRaw(e, key)) }

func detailRaw(e tenant.AuditEvent, key string) string {
	for _, kv := range e.Details {
		if strings.EqualFold(strings.TrimSpace(kv.Key), key) {
			return kv.Value
		}
	}
	return ""
}

// propsFromBlob reads modified properties from reassembled JSON: an array of
// {displayName|name, oldValue, newValue} objects, or an object holding one
// under modifiedProperties (directly or in targetResources[]). The JSON may
// itself be escaped as the content of a JSON string.
func propsFromBlob(blob string) []tenant.ModifiedProperty {
	blob = strings.TrimSpace(blob)
	if !json.Valid([]byte(blob)) {
		var unq string
		if json.Unmarshal([]byte(`"`+blob+`"`), &unq) != nil {
			return nil
		}
		blob = unq
	}
	return propsFrom(decodeValue(blob), 0)
}

func propsFrom(v any, depth int) []tenant.ModifiedProperty {
	if depth > 3 {
		return nil
	}
	switch v := v.(type) {
	case []any:
		var out []tenant.ModifiedProperty
		for _, el := range v {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			name := mapString(m, "displayName")
			if name == "" {
				name = mapString(m, "name")
			}
			if name == "" {
				out = append(out, propsFrom(m, depth+1)...)
				continue
			}
			out = append(out, tenant.ModifiedProperty{Name: name, Old: rawText(m, "oldValue"), New: rawText(m, "newValue")})
		}
		return out
	case map[string]any:
		if mp, ok := mapGet(v, "modifiedProperties"); ok {
			return propsFrom(mp, depth+1)
		}
		if tr, ok := mapGet(v, "targetResources"); ok {
			return propsFrom(tr, depth+1)
		}
	}
	return nil
}

// rawText returns m[key] as the string Graph would have sent: strings as
// they are, anything else as its JSON text.
func rawText(m map[string]any, key string) string {
	v, ok := mapGet(m, key)
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
