package graphsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Object is a JSON object that keeps its members in order, so responses list
// properties the way the scenario files (and Graph's documentation) do. It
// is how the mutation API (Tx) and scenario steps read and write tenant
// objects. Values read from the tenant are nil, bool, json.Number, string,
// []any or Object; values written may also be int, int64, float64 or
// []string.
type Object []Member

// Member is one property of an Object. It is an unnamed struct type so
// that other packages write objects as this one does, Object{{"id", id}}
// (vet flags unkeyed literals of imported named struct types).
type Member = struct {
	Key string
	Val any
}

// Get returns the value of key (exact match) and whether it is present.
func (o Object) Get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Val, true
		}
	}
	return nil, false
}

// Str returns the string value of key, or "".
func (o Object) Str(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// Set replaces key's value or appends the member.
func (o *Object) Set(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Val = v
			return
		}
	}
	*o = append(*o, Member{key, v})
}

// Path walks "a/b/c" through nested objects, matching keys
// case-insensitively (OData property paths are written with '/').
func (o Object) Path(p string) (any, bool) {
	var cur any = o
	for p != "" {
		seg := p
		rest := ""
		if i := strings.IndexByte(p, '/'); i >= 0 {
			seg, rest = p[:i], p[i+1:]
		}
		co, ok := cur.(Object)
		if !ok {
			return nil, false
		}
		found := false
		for _, m := range co {
			if strings.EqualFold(m.Key, seg) {
				cur, found = m.Val, true
				break
			}
		}
		if !found {
			return nil, false
		}
		p = rest
	}
	return cur, true
}

// decodeJSON parses one JSON value, keeping object member order.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, Member{k, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected delimiter %v", t)
	default:
		return tok, nil // nil, bool, json.Number, string
	}
}

// appendJSON appends v encoded as JSON. HTML characters are not escaped:
// Graph returns "&" and "<" as they are.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		return append(b, x...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case string:
		return appendString(b, x)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case Object:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.Key)
			b = append(b, ':')
			b = appendJSON(b, m.Val)
		}
		return append(b, '}')
	case []Object:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	default:
		// Not reached for values this package builds; encode defensively.
		raw, err := json.Marshal(x)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, raw...)
	}
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// JSONText returns v (an Object, []any or scalar) as compact JSON text, as
// Graph writes the values of audit modifiedProperties inside strings.
// HTML characters are not escaped.
func JSONText(v any) string { return string(appendJSON(nil, v)) }

// MarshalJSON encodes o with its members in order.
func (o Object) MarshalJSON() ([]byte, error) { return appendJSON(nil, o), nil }

// Clone returns a deep copy of o: changing one never reaches the other.
func (o Object) Clone() Object { return copyObj(o) }

// Objects returns the objects of a JSON array value (as Get or Path
// return it), skipping elements that are not objects; nil for anything
// else. Scenario stories read collections of the data with it.
func Objects(v any) []Object {
	arr, _ := v.([]any)
	var out []Object
	for _, e := range arr {
		if o, ok := e.(Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// Strings returns the strings of a JSON array value, skipping elements
// that are not strings; nil for anything else.
func Strings(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
