package graphsim

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"strings"
	"time"
)

// record is one object in a collection. t is the collection's time key
// (activityDateTime, createdDateTime) for logs served newest first; zero
// elsewhere. A record with a nil o is a deleted object: pages skip it, so
// positions (and skip tokens) stay valid when objects are deleted.
type record struct {
	o Object
	t time.Time
}

// source is an ordered run of records. Static scenario data and lazily
// generated synthetic data are both sources, so a collection of 100,000
// synthetic users holds nothing but a count.
type source interface {
	Len() int
	// Time returns record i's time key without building the object.
	Time(i int) time.Time
	// Record builds record i.
	Record(i int) record
}

type staticSource []record

func (s staticSource) Len() int             { return len(s) }
func (s staticSource) Time(i int) time.Time { return s[i].t }
func (s staticSource) Record(i int) record  { return s[i] }

// lazySource generates record i on demand.
type lazySource struct {
	n    int
	time func(i int) time.Time
	gen  func(i int) record
}

func (s lazySource) Len() int { return s.n }
func (s lazySource) Time(i int) time.Time {
	if s.time == nil {
		return time.Time{}
	}
	return s.time(i)
}
func (s lazySource) Record(i int) record { return s.gen(i) }

// collection is what one list endpoint serves: its sources either
// concatenated (directory objects) or merged newest first on the time key
// (sign-ins, audit events: each source must itself be sorted newest first).
type collection struct {
	sources     []source
	newestFirst bool
	timeKey     string // property the time key mirrors, for $filter shortcuts
}

// cursor holds one position per source.
type cursor []int

// next returns the source index of the next record in serving order, or
// -1 when every source is exhausted.
func (c *collection) next(cur cursor) int {
	best := -1
	var bestT time.Time
	for i, s := range c.sources {
		if cur[i] >= s.Len() {
			continue
		}
		if !c.newestFirst {
			return i
		}
		t := s.Time(cur[i])
		if best < 0 || t.After(bestT) {
			best, bestT = i, t
		}
	}
	return best
}

// page returns up to size records matching f (nil matches everything),
// starting at cur, and the cursor of the next matching record (nil when
// there is none). cur is not modified.
func (c *collection) page(cur cursor, size int, f *filterExpr) ([]record, cursor) {
	pos := append(cursor(nil), cur...)
	var lb time.Time
	if f != nil && c.newestFirst && c.timeKey != "" {
		lb = f.lowerBound(c.timeKey)
	}
	var out []record
	for {
		i := c.next(pos)
		if i < 0 {
			return out, nil
		}
		src := c.sources[i]
		if !lb.IsZero() && src.Time(pos[i]).Before(lb) {
			// Newest first: this source has nothing more that can match.
			pos[i] = src.Len()
			continue
		}
		if len(out) == size {
			// pos points at a candidate; make sure it matches so that a
			// nextLink always leads to at least one more item.
			r := src.Record(pos[i])
			if r.o != nil && (f == nil || f.match(c.getter(r))) {
				return out, pos
			}
			pos[i]++
			continue
		}
		r := src.Record(pos[i])
		pos[i]++
		if r.o != nil && (f == nil || f.match(c.getter(r))) {
			out = append(out, r)
		}
	}
}

func (c *collection) getter(r record) fieldGetter {
	return func(p string) (any, bool) {
		if c.timeKey != "" && strings.EqualFold(p, c.timeKey) && !r.t.IsZero() {
			return r.t, true
		}
		return r.o.Path(p)
	}
}

// Skip tokens are opaque to clients: "g2" + base64url(fingerprint,
// snapshot version, source positions), or "g1" + base64url(fingerprint,
// positions) while the tenant is still the unchanged scenario (version 0). The fingerprint binds a token to the
// route, $filter, $select and page size it was issued for; the version pins
// the tenant's state the paging started from, so objects created and log
// entries appended while a client pages do not shift its positions.

const errBadSkipToken = constError("invalid $skiptoken")

func encodeSkipToken(fp uint32, ver uint64, cur cursor) string {
	b := binary.BigEndian.AppendUint32(nil, fp)
	prefix := "g1" // the unchanged scenario: no version (tokens as before changes existed)
	if ver > 0 {
		prefix = "g2"
		b = binary.AppendUvarint(b, ver)
	}
	b = binary.AppendUvarint(b, uint64(len(cur)))
	for _, p := range cur {
		b = binary.AppendUvarint(b, uint64(p))
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// decodeSkipToken returns the snapshot version and positions of tok. The
// caller checks the number of positions against the collection.
func decodeSkipToken(tok string, fp uint32) (uint64, cursor, error) {
	if len(tok) < 2 || (tok[:2] != "g1" && tok[:2] != "g2") {
		return 0, nil, errBadSkipToken
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[2:])
	if err != nil || len(b) < 5 {
		return 0, nil, errBadSkipToken
	}
	if binary.BigEndian.Uint32(b) != fp {
		return 0, nil, errBadSkipToken
	}
	b = b[4:]
	var ver uint64
	if tok[1] == '2' {
		v, k := binary.Uvarint(b)
		if k <= 0 || v == 0 {
			return 0, nil, errBadSkipToken
		}
		ver, b = v, b[k:]
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 64 {
		return 0, nil, errBadSkipToken
	}
	b = b[k:]
	cur := make(cursor, n)
	for i := range cur {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > 1<<40 {
			return 0, nil, errBadSkipToken
		}
		cur[i] = int(v)
		b = b[k:]
	}
	if len(b) != 0 {
		return 0, nil, errBadSkipToken
	}
	return ver, cur, nil
}

func fingerprint(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}
