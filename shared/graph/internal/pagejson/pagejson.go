// Package pagejson reads the JSON of Graph list pages without building a
// tree: a Decoder walks one JSON value in order, handing out member names,
// strings, numbers and booleans, and skips what its caller does not read.
//
// A Decoder reads input that encoding/json's Valid accepted: it checks
// types (a string where a string is read), never syntax. Strings are
// unescaped exactly as encoding/json does (invalid UTF-8 and lone
// surrogates become U+FFFD). It has no dependencies beyond the standard
// library, so that its fuzz targets run fast.
package pagejson

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the kind of a JSON value.
type Kind uint8

// The kinds of JSON values. End is returned where no value is left.
const (
	End Kind = iota
	Null
	Bool
	Number
	String
	Object
	Array
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "boolean"
	case Number:
		return "number"
	case String:
		return "string"
	case Object:
		return "object"
	case Array:
		return "array"
	}
	return "end of input"
}

// TypeError is a value of another kind than the one read.
type TypeError struct {
	Want string // "string", "boolean", "number", "array"
	Got  Kind
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("a %s where a %s was expected", e.Got, e.Want)
}

// Decoder reads one JSON value that encoding/json's Valid accepted.
type Decoder struct {
	b    []byte
	i    int
	buf  []byte // unescaped strings
	kbuf []byte // unescaped member names
}

// NewDecoder returns a Decoder of b, which must be valid JSON.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Reset makes d read b, keeping its buffers.
func (d *Decoder) Reset(b []byte) { d.b, d.i = b, 0 }

func (d *Decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// adv steps over n bytes, never past the end.
func (d *Decoder) adv(n int) { d.i = min(d.i+n, len(d.b)) }

// Kind returns the kind of the value that comes next, without reading it.
func (d *Decoder) Kind() Kind {
	d.ws()
	if d.i >= len(d.b) {
		return End
	}
	switch d.b[d.i] {
	case 'n':
		return Null
	case 't', 'f':
		return Bool
	case '"':
		return String
	case '{':
		return Object
	case '[':
		return Array
	case '}', ']', ',', ':':
		return End
	}
	return Number
}

// Skip reads the next value, whatever it is.
func (d *Decoder) Skip() {
	d.ws()
	if d.i >= len(d.b) {
		return
	}
	switch d.b[d.i] {
	case '"':
		d.skipString()
	case '{', '[':
		d.skipContainer()
	case '}', ']', ',', ':':
		d.i++ // not a value (not valid JSON): step over it
	default: // a literal or a number
		for d.i < len(d.b) && !delim[d.b[d.i]] {
			d.i++
		}
	}
}

// Raw reads the next value and returns its bytes.
func (d *Decoder) Raw() []byte {
	d.ws()
	start := d.i
	d.Skip()
	return d.b[start:d.i]
}

// delim marks the bytes that end a literal or a number.
var delim = func() (t [256]bool) {
	for _, c := range []byte(" \t\r\n,:]}") {
		t[c] = true
	}
	return t
}()

// skipString reads a string; d.i is at its opening quote.
func (d *Decoder) skipString() {
	if d.i >= len(d.b) {
		return
	}
	start := d.i
	d.i++
	for {
		j := bytes.IndexByte(d.b[d.i:], '"')
		if j < 0 {
			d.i = len(d.b)
			return
		}
		d.i += j
		// The quote ends the string unless an odd number of backslashes
		// precede it; the opening quote bounds the count.
		n := 0
		for k := d.i - 1; k > start && d.b[k] == '\\'; k-- {
			n++
		}
		d.i++
		if n%2 == 0 {
			return
		}
	}
}

// skipContainer reads an object or an array; d.i is at its opening bracket.
func (d *Decoder) skipContainer() {
	depth := 0
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case '"':
			d.skipString()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				d.i++
				return
			}
		}
		d.i++
	}
}

// Object reads the next value. For an object it calls member with each
// member's name, in order, and member must read the value (or Skip it); the
// name is valid until member returns. Any other value is read without a
// call. Object returns the kind of the value and member's first error,
// which ends the reading.
func (d *Decoder) Object(member func(name []byte) error) (Kind, error) {
	k := d.Kind()
	if k != Object {
		d.Skip()
		return k, nil
	}
	d.i++ // {
	for {
		d.ws()
		if d.i >= len(d.b) {
			return k, nil
		}
		switch d.b[d.i] {
		case '}':
			d.i++
			return k, nil
		case ',':
			d.i++
			d.ws()
		}
		name := d.name()
		d.ws()
		d.adv(1) // :
		d.ws()
		at := d.i
		if err := member(name); err != nil {
			return k, err
		}
		if d.i == at { // member neither read nor skipped the value
			d.Skip()
		}
	}
}

// Array reads the next value. For an array it calls elem for each element,
// in order, and elem must read it (or Skip it). Any other value is read
// without a call. Array returns the kind of the value and elem's first
// error, which ends the reading.
func (d *Decoder) Array(elem func() error) (Kind, error) {
	k := d.Kind()
	if k != Array {
		d.Skip()
		return k, nil
	}
	d.i++ // [
	for {
		d.ws()
		if d.i >= len(d.b) {
			return k, nil
		}
		switch d.b[d.i] {
		case ']':
			d.i++
			return k, nil
		case ',':
			d.i++
			d.ws()
		}
		at := d.i
		if err := elem(); err != nil {
			return k, err
		}
		if d.i == at { // elem neither read nor skipped the element
			d.Skip()
		}
	}
}

// name reads a member name; d.i is at its opening quote.
func (d *Decoder) name() []byte {
	s, plain := d.rawString()
	if plain {
		return s
	}
	d.kbuf = unquote(d.kbuf[:0], s)
	return d.kbuf
}

// Bytes reads a string and returns it unescaped, valid until the next
// read; null returns nil and null true. Another kind is a *TypeError and
// is not read.
func (d *Decoder) Bytes() (s []byte, null bool, err error) {
	switch k := d.Kind(); k {
	case String:
		s, plain := d.rawString()
		if plain {
			return s, false, nil
		}
		d.buf = unquote(d.buf[:0], s)
		return d.buf, false, nil
	case Null:
		d.adv(len("null"))
		return nil, true, nil
	default:
		return nil, false, &TypeError{Want: "string", Got: k}
	}
}

// String reads a string; null is "". Another kind is a *TypeError.
func (d *Decoder) String() (string, error) {
	b, _, err := d.Bytes()
	return string(b), err
}

// Bool reads true or false; null is false and null true. Another kind is a
// *TypeError.
func (d *Decoder) Bool() (v, null bool, err error) {
	switch k := d.Kind(); k {
	case Bool:
		v = d.b[d.i] == 't'
		if v {
			d.adv(len("true"))
		} else {
			d.adv(len("false"))
		}
		return v, false, nil
	case Null:
		d.adv(len("null"))
		return false, true, nil
	default:
		return false, false, &TypeError{Want: "boolean", Got: k}
	}
}

// Float reads a number as encoding/json decodes it into an interface
// value: a float64, out of range an error; null is 0 and null true.
// Another kind is a *TypeError.
func (d *Decoder) Float() (f float64, null bool, err error) {
	switch k := d.Kind(); k {
	case Number:
		start := d.i
		for d.i < len(d.b) && !delim[d.b[d.i]] {
			d.i++
		}
		f, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
		if err != nil {
			return 0, false, fmt.Errorf("number %s out of range", d.b[start:d.i])
		}
		return f, false, nil
	case Null:
		d.adv(len("null"))
		return 0, true, nil
	default:
		return 0, false, &TypeError{Want: "number", Got: k}
	}
}

// rawString reads a string; d.i is at its opening quote. It returns the
// bytes between the quotes and whether they need no unescaping (no
// backslash, all valid UTF-8).
func (d *Decoder) rawString() (s []byte, plain bool) {
	if d.i >= len(d.b) { // not valid JSON: no string
		return nil, true
	}
	start := d.i + 1
	i := start
	for i < len(d.b) && plainByte[d.b[i]] {
		i++
	}
	if i < len(d.b) && d.b[i] == '"' {
		d.i = i + 1
		return d.b[start:i], true
	}
	d.skipString()
	s = d.b[start:max(d.i-1, start)]
	rest := s[min(i-start, len(s)):]
	return s, bytes.IndexByte(rest, '\\') < 0 && utf8.Valid(rest)
}

// plainByte marks the ASCII bytes a string holds as they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// unquote appends s (the bytes between a string's quotes, valid JSON)
// unescaped to dst, as encoding/json does: invalid UTF-8 and lone
// surrogates become U+FFFD.
func unquote(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\' && r+1 < len(s):
			r++
			switch s[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+1 < len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != unicode.ReplacementChar {
							r += 6
							dst = utf8.AppendRune(dst, dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // " \ /
				dst = append(dst, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst
}

// hex4 decodes the four hex digits at the start of s; -1 if there are not.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
