// Package typednull rewrites, in a JSON stream, the empty-string value of
// every object member whose name is a date property (ending in DateTime)
// or one of the GUID properties shared/graph selects, to null. Graph's own
// documentation shows "" for dates a user never had (signInActivity), and
// some GUID properties arrive as "" too; the Graph SDK fails a whole page on
// one. The rewriting happens on the stream, as the SDK reads a response
// body: no copy of the page is made.
//
// It is JSON-aware: it tracks strings (and their escapes), so text inside a
// string value is never touched, and only a member name written without
// escapes is recognised. Its state carries over from one Read to the next,
// so a match split across reads is rewritten like any other. On valid JSON
// it does exactly what the regular expression it replaced did,
//
//	("(?:[A-Za-z0-9_]*DateTime|appOwnerOrganizationId|keyId|appRoleId|principalId|resourceId|skuId|servicePlanId)"\s*:\s*)"" → ${1}null
//
// except for a member name containing an escaped quote, which the
// expression could mistake for the start of a name (FuzzReader holds it to
// that expression). It has no dependencies beyond the standard library, so
// that its fuzz target runs fast.
package typednull

import (
	"bytes"
	"io"
)

// guidNames are the GUID properties whose empty value becomes null.
var guidNames = []string{"appOwnerOrganizationId", "keyId", "appRoleId", "principalId", "resourceId", "skuId", "servicePlanId"}

// maxGUIDName is the length of the longest of guidNames.
const maxGUIDName = len("appOwnerOrganizationId")

const dateSuffix = "DateTime"

type nullerState uint8

const (
	nOut      nullerState = iota // outside any string
	nStr                         // inside a string
	nAfterKey                    // after a string that names a typed property: whitespace, then ':'
	nAfterCol                    // after that ':': whitespace, then the value
	nHeld                        // after the value's opening quote, held back until the next byte
)

// NewReader returns a reader of src with the empty typed values rewritten
// to null. Closing it closes src.
func NewReader(src io.ReadCloser) io.ReadCloser {
	return &nuller{src: src}
}

// minBuf and maxBuf bound the read buffer, which follows the caller's.
const (
	minBuf = 512
	maxBuf = 32 << 10
)

// nuller is the reader NewReader returns.
type nuller struct {
	src io.ReadCloser
	in  []byte // read buffer
	out []byte // rewritten bytes not yet returned
	off int    // out[off:] is pending
	err error  // src's error, returned once out is drained

	st  nullerState
	esc bool // in a string, the previous byte was an unescaped backslash
	// The string being read, while it may still name a typed property:
	// typed is false once it cannot (a byte outside [A-Za-z0-9_], an
	// escape); n counts its bytes, head keeps the first maxGUIDName and
	// tail the last len(dateSuffix), right-aligned.
	typed bool
	n     int
	head  [maxGUIDName]byte
	tail  [len(dateSuffix)]byte
}

func (z *nuller) Close() error { return z.src.Close() }

func (z *nuller) Read(p []byte) (int, error) {
	for z.off == len(z.out) {
		if z.err != nil {
			return 0, z.err
		}
		if want := min(max(len(p), minBuf), maxBuf); len(z.in) < want {
			z.in = make([]byte, want)
		}
		n, err := z.src.Read(z.in)
		z.out, z.off = z.rewrite(z.out[:0], z.in[:n]), 0
		if err != nil {
			if z.st == nHeld { // the input ended on the held quote
				z.out = append(z.out, '"')
				z.st = nStr
			}
			z.err = err
		}
	}
	n := copy(p, z.out[z.off:])
	z.off += n
	return n, nil
}

// rewrite appends the rewriting of in to dst, carrying the state over.
// Bytes pass through in spans (in[start:i] is not yet copied); only an
// empty value after a typed name is replaced.
func (z *nuller) rewrite(dst, in []byte) []byte {
	start, i := 0, 0
	for i < len(in) {
		switch z.st {
		case nOut:
			// Only a string can start a match.
			j := bytes.IndexByte(in[i:], '"')
			if j < 0 {
				i = len(in)
				continue
			}
			i += j + 1
			z.startString()
		case nStr:
			if !z.typed {
				i += z.skipString(in[i:])
				continue
			}
			k := i
			for k < len(in) && nameByte[in[k]] {
				k++
			}
			z.addName(in[i:k])
			if i = k; i == len(in) {
				continue
			}
			switch in[i] {
			case '"':
				i++
				z.st = nOut
				if z.isTypedName() {
					z.st = nAfterKey
				}
			case '\\':
				i++
				z.typed, z.esc = false, true
			default:
				z.typed = false
			}
		case nAfterKey, nAfterCol:
			switch c := in[i]; {
			case isSpace(c):
				i++
			case c == ':' && z.st == nAfterKey:
				i++
				z.st = nAfterCol
			case c == '"' && z.st == nAfterCol:
				// Hold the quote: an empty string becomes null.
				dst = append(dst, in[start:i]...)
				i++
				start = i
				z.st = nHeld
			default:
				z.st = nOut // c again, outside a string
			}
		case nHeld:
			if in[i] == '"' {
				dst = append(dst, "null"...)
				i++
				start = i
				z.st = nOut
				continue
			}
			dst = append(dst, '"')
			z.startString() // in[i] again, as the string's first byte
		}
	}
	return append(dst, in[start:]...)
}

// startString begins a string whose opening quote was just read.
func (z *nuller) startString() {
	z.st, z.esc, z.typed, z.n = nStr, false, true, 0
}

// skipString returns how many bytes of b belong to the current string,
// its closing quote included (then the state is nOut), or len(b).
func (z *nuller) skipString(b []byte) int {
	k := 0
	for k < len(b) {
		if z.esc {
			z.esc = false
			k++
			continue
		}
		for k < len(b) && b[k] != '"' && b[k] != '\\' {
			k++
		}
		if k == len(b) {
			break
		}
		if b[k] == '"' {
			z.st = nOut
			return k + 1
		}
		z.esc = true
		k++
	}
	return len(b)
}

// addName records name bytes b of the current string.
func (z *nuller) addName(b []byte) {
	if z.n < maxGUIDName {
		copy(z.head[z.n:], b)
	}
	if len(b) >= len(z.tail) {
		copy(z.tail[:], b[len(b)-len(z.tail):])
	} else {
		copy(z.tail[:], z.tail[len(b):])
		copy(z.tail[len(z.tail)-len(b):], b)
	}
	z.n += len(b)
}

// isTypedName reports whether the string just closed is a name whose empty
// value is rewritten: [A-Za-z0-9_]*DateTime or one of guidNames.
func (z *nuller) isTypedName() bool {
	if !z.typed {
		return false
	}
	if z.n >= len(dateSuffix) && string(z.tail[:]) == dateSuffix {
		return true
	}
	if z.n > maxGUIDName {
		return false
	}
	name := z.head[:z.n]
	for _, g := range guidNames {
		if string(name) == g {
			return true
		}
	}
	return false
}

// nameByte marks [A-Za-z0-9_].
var nameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isNameByte(byte(c))
	}
	return t
}()

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// isSpace is the expression's \s: JSON's whitespace and form feed.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}
