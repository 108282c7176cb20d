package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of Azure Table Storage that the layout respects.
const (
	// maxPart is the largest binary property written (the service allows
	// 64 KiB per property).
	maxPart = 64000
	// maxParts bounds how many parts one value may span, which keeps an
	// entity under the service's 1 MiB even where the size counted is the
	// base64 text (Azurite counts it so).
	maxParts = 11
	// maxRawKey is the longest key stored as is; maxB64Key the longest
	// stored base64url-encoded (≤ 802 characters, under RowKey's 1 KiB).
	maxRawKey = 255
	maxB64Key = 600
)

// timeLayout is Edm.DateTime with the service's 100 ns precision.
const timeLayout = "2006-01-02T15:04:05.0000000Z"

// zeroStamp stands for the zero time.Time, which Edm.DateTime cannot hold
// (its range starts in 1601). Merges can then clear a time.
var zeroStamp = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// norm returns t as stored: UTC, 100 ns precision, no monotonic reading.
// Times at or before 1601-01-01 read back as the zero time.
func norm(t time.Time) time.Time {
	if t.IsZero() || !t.After(zeroStamp) {
		return time.Time{}
	}
	return t.UTC().Truncate(100 * time.Nanosecond)
}

// key turns s into a PartitionKey or RowKey. Keys made only of ASCII
// letters, digits, '-', '_' and '.' (object ids, rule ids, resource names)
// are kept, so rows stay readable; anything else (':' '/' '\' '#' '?' '%',
// control characters, any Unicode) becomes "~b" + base64url(s), or
// "~h" + hex(SHA-256(s)) when that would exceed the 1 KiB key limit. The
// mapping is injective up to SHA-256 collisions: encoded keys contain '~',
// which kept keys never do.
func key(s string) string {
	if s != "" && len(s) <= maxRawKey && plainKey(s) {
		return s
	}
	if len(s) <= maxB64Key {
		return "~b" + base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	sum := sha256.Sum256([]byte(s))
	return "~h" + hex.EncodeToString(sum[:])
}

func plainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// quote renders s as an OData string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// partitionFilter selects one partition.
func partitionFilter(pk string) string { return "PartitionKey eq " + quote(pk) }

// entity is a table entity to write: property name → JSON value, with the
// OData type annotations binary, 64-bit and date-time values need.
type entity map[string]any

func newEntity(pk, rk string) entity { return entity{"PartitionKey": pk, "RowKey": rk} }

func (e entity) str(name, v string) { e[name] = v }

func (e entity) boolean(name string, v bool) { e[name] = v }

func (e entity) int32(name string, v int) { e[name] = v }

// time stores t as Edm.DateTime (zeroStamp for the zero time).
func (e entity) time(name string, t time.Time) {
	t = norm(t)
	if t.IsZero() {
		t = zeroStamp
	}
	e[name] = t.Format(timeLayout)
	e[name+"@odata.type"] = "Edm.DateTime"
}

// binary stores b as Edm.Binary, split over name, name1, name2 … when it
// exceeds one property; namePARTS holds the count. It fails when b needs
// more than maxParts properties.
func (e entity) binary(name string, b []byte) error {
	n := (len(b) + maxPart - 1) / maxPart
	if n == 0 {
		n = 1
	}
	if n > maxParts {
		return fmt.Errorf("%s is %d bytes, over the %d an entity can hold", name, len(b), maxPart*maxParts)
	}
	for i := 0; i < n; i++ {
		p := b[i*maxPart : min(len(b), (i+1)*maxPart)]
		pn := partName(name, i)
		e[pn] = base64.StdEncoding.EncodeToString(p)
		e[pn+"@odata.type"] = "Edm.Binary"
	}
	e[name+"PARTS"] = n
	return nil
}

func partName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + strconv.Itoa(i)
}

// marshal encodes the entity for the SDK.
func (e entity) marshal() []byte {
	b, err := json.Marshal(map[string]any(e))
	if err != nil {
		// Only strings, bools, ints and strings of base64 go in: cannot fail.
		panic(fmt.Sprintf("store: encode entity: %v", err))
	}
	return b
}

// row is an entity read back.
type row struct {
	props map[string]json.RawMessage
	etag  string
}

// parseRow decodes an entity as the SDK returns it; etag, when not empty,
// overrides the odata.etag property.
func parseRow(b []byte, etag string) (row, error) {
	r := row{}
	if err := json.Unmarshal(b, &r.props); err != nil {
		return row{}, fmt.Errorf("decode entity: %w", err)
	}
	r.etag = etag
	if r.etag == "" {
		r.etag = r.str("odata.etag")
	}
	return r, nil
}

func (r row) has(name string) bool { _, ok := r.props[name]; return ok }

// str reads a string property ("" when absent or not a string).
func (r row) str(name string) string {
	var s string
	if raw, ok := r.props[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// int reads an Edm.Int32 (a JSON number) or an Edm.Int64 (a string).
func (r row) int(name string) int {
	raw, ok := r.props[name]
	if !ok {
		return 0
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, _ = strconv.Atoi(s)
	}
	return n
}

// time reads an Edm.DateTime; absent and zeroStamp read as the zero time.
func (r row) time(name string) (time.Time, error) {
	s := r.str(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("property %s: %w", name, err)
	}
	return norm(t), nil
}

// binary reads what entity.binary wrote (nil when absent).
func (r row) binary(name string) ([]byte, error) {
	n := r.int(name + "PARTS")
	if n == 0 {
		if !r.has(name) {
			return nil, nil
		}
		n = 1
	}
	var out []byte
	for i := 0; i < n; i++ {
		pn := partName(name, i)
		if !r.has(pn) {
			return nil, fmt.Errorf("property %s: part %d of %d is missing", name, i+1, n)
		}
		p, err := base64.StdEncoding.DecodeString(r.str(pn))
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", pn, err)
		}
		out = append(out, p...)
	}
	return out, nil
}
