package audit

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The untyped helpers every decoder shares: targets and modified properties
// by name, and the values Graph writes as JSON text inside a string.

// maxDecodeDepth bounds how many times decodeValue unwraps JSON held in a
// JSON string (Graph encodes once; some exports encode twice).
const maxDecodeDepth = 4

// typeIs reports whether a target type equals want, case-insensitively
// (documentation samples spell it "Type" and "type", values vary in case).
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

// newString returns the decoded new value of the first modified property
// called name on any target (see valueString), or "".
func newString(e tenant.AuditEvent, name string) string {
	if p, ok := eventProp(e, name); ok {
		return valueString(p.New)
	}
	return ""
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
		if tenant.EqualFoldASCII(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
