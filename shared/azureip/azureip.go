// Package azureip answers whether an IP address belongs to Microsoft Azure's
// public datacentre space, from a Service Tags file
// (ServiceTags_Public_YYYYMMDD.json, or the Service Tag Discovery API's
// response, which has the same "values" array).
//
// Only the tag "AzureCloud" and its regional slices "AzureCloud.<region>" are
// used: they cover every Azure public address. Other tags (AzureActiveDirectory,
// Storage, …) are subsets or services and are ignored, as are Microsoft 365
// endpoint lists, which are not Azure space.
//
// Every AzureCloud range is sanity-checked (CheckPrefix) before it can count:
// a document with a range shorter than /8 (IPv6 /16) or covering
// unspecified, loopback, private or link-local space is refused whole, so a
// wrong or tampered file cannot make every sign-in an "Azure" sign-in.
package azureip

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
)

// MaxFileBytes bounds how much of a Service Tags file Parse reads. The public
// file is about 5 MB; the bound leaves room for growth.
const MaxFileBytes = 64 << 20

// ErrNoAzureCloud is returned when a file parses but holds no AzureCloud entry.
var ErrNoAzureCloud = errors.New("no AzureCloud or AzureCloud.<region> entries")

// ErrImplausiblePrefix is returned (wrapped, naming the entry and the
// prefix) when an AzureCloud entry lists a range that cannot be Azure's
// public address space: see CheckPrefix.
var ErrImplausiblePrefix = errors.New("not Azure public address space")

// Shortest prefixes CheckPrefix accepts. A /8 is the largest IPv4 block
// ever allocated to one organisation; an IPv6 /16 is far larger than any
// allocation to one network (Azure's are /24 and longer). A shorter one
// means the file is not Microsoft's.
const (
	MinPrefixBits4 = 8
	MinPrefixBits6 = 16
)

// nonPublic are the ranges no Azure public address is in: unspecified and
// "this network", loopback, private (RFC 1918, IPv6 unique local) and
// link-local space. Sign-ins never come from Azure there, so a Service
// Tags range that covers any of them is wrong.
var nonPublic = []struct {
	p    netip.Prefix
	what string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
}

// CheckPrefix is the sanity check every Service Tags range goes through
// before it can make a sign-in an "Azure" sign-in (Parse applies it to each
// AzureCloud prefix, whatever the source: a file, a blob or the Discovery
// API). It refuses an IPv4 prefix shorter than /8 or an IPv6 prefix shorter
// than /16, and a prefix that overlaps unspecified, loopback, private or
// link-local space (0.0.0.0/0 would make every sign-in an Azure sign-in).
// IPv4-mapped IPv6 prefixes are judged as the IPv4 prefixes they map.
// Errors wrap ErrImplausiblePrefix.
func CheckPrefix(p netip.Prefix) error {
	pp, ok := normalize(p)
	if !ok {
		return fmt.Errorf("%w: %s is not a valid prefix", ErrImplausiblePrefix, p)
	}
	minBits := MinPrefixBits6
	if pp.Addr().Is4() {
		minBits = MinPrefixBits4
	}
	if pp.Bits() < minBits {
		return fmt.Errorf("%w: %s is shorter than /%d", ErrImplausiblePrefix, p, minBits)
	}
	for _, np := range nonPublic {
		if pp.Overlaps(np.p) {
			return fmt.Errorf("%w: %s covers %s addresses (%s)", ErrImplausiblePrefix, p, np.what, np.p)
		}
	}
	return nil
}

// Set is an immutable set of Azure prefixes. The zero value and nil are empty.
type Set struct {
	v4, v6 []entry // sorted by start address, non-overlapping
	tags   int
	n      int
	change int
}

type entry struct {
	lo, hi netip.Addr
	tag    string // the tag of the most specific prefix covering the range
}

// Prefix is one address prefix and the tag it came from.
type Prefix struct {
	Prefix netip.Prefix
	Tag    string
}

type serviceTags struct {
	ChangeNumber int `json:"changeNumber"`
	Cloud        string
	Values       []struct {
		Name       string `json:"name"`
		ID         string `json:"id"`
		Properties struct {
			Region          string   `json:"region"`
			AddressPrefixes []string `json:"addressPrefixes"`
		} `json:"properties"`
	} `json:"values"`
}

// IsAzureCloudTag reports whether a Service Tags entry name is "AzureCloud"
// or "AzureCloud.<region>" (case-insensitive).
func IsAzureCloudTag(name string) bool {
	if strings.EqualFold(name, "AzureCloud") {
		return true
	}
	const p = "azurecloud."
	return len(name) > len(p) && strings.EqualFold(name[:len(p)], p)
}

// Parse reads a Service Tags JSON document and keeps the AzureCloud entries.
// It fails on malformed JSON, on a malformed prefix inside an AzureCloud
// entry, on a prefix CheckPrefix refuses (ErrImplausiblePrefix: the whole
// document is refused, since a file with one such range is not Microsoft's),
// on input over MaxFileBytes, and with ErrNoAzureCloud when no entry
// qualifies.
func Parse(r io.Reader) (*Set, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("azureip: read: %w", err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("azureip: file larger than %d bytes", MaxFileBytes)
	}
	var doc serviceTags
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("azureip: not a Service Tags JSON file: %w", err)
	}
	var ps []Prefix
	tags := 0
	for _, v := range doc.Values {
		name := v.Name
		if name == "" {
			name = v.ID
		}
		if !IsAzureCloudTag(name) {
			continue
		}
		tags++
		for _, s := range v.Properties.AddressPrefixes {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("azureip: entry %q: %w", name, err)
			}
			if err := CheckPrefix(p); err != nil {
				return nil, fmt.Errorf("azureip: entry %q: %w: the file is refused; use Microsoft's ServiceTags_Public_*.json", name, err)
			}
			ps = append(ps, Prefix{Prefix: p.Masked(), Tag: name})
		}
	}
	if tags == 0 {
		return nil, fmt.Errorf("azureip: %w", ErrNoAzureCloud)
	}
	s := New(ps)
	s.tags = tags
	s.change = doc.ChangeNumber
	return s, nil
}

// Load parses the Service Tags file at path.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("azureip: %w", err)
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// New builds a set from prefixes (used by Parse and by tests). Overlapping
// and nested prefixes are merged. An address covered by several prefixes is
// reported with the tag of the most specific (longest) one; when the same
// prefix is listed under several tags, a regional tag ("AzureCloud.<region>")
// wins over the global "AzureCloud", and otherwise the first listed wins. So a
// lookup names the region whenever the file says it, whatever the order of
// its entries. IPv4-mapped IPv6 prefixes (::ffff:a.b.c.d/n) are stored as
// IPv4, the form Lookup searches; invalid prefixes are ignored.
func New(ps []Prefix) *Set {
	s := &Set{}
	var v4, v6 []span
	for i, p := range ps {
		pp, ok := normalize(p.Prefix)
		if !ok {
			continue
		}
		s.n++
		sp := span{lo: pp.Addr(), hi: lastAddr(pp), bits: pp.Bits(), tag: p.Tag, order: i}
		if sp.lo.Is4() {
			v4 = append(v4, sp)
		} else {
			v6 = append(v6, sp)
		}
	}
	s.v4 = flatten(v4)
	s.v6 = flatten(v6)
	return s
}

// span is one input prefix as an address range.
type span struct {
	lo, hi netip.Addr
	bits   int
	tag    string
	order  int // position in the input, for ties
}

// normalize masks p and turns an IPv4-mapped IPv6 prefix into IPv4. A masked
// prefix whose address is IPv4-mapped has at least 96 bits, since bits 80–95
// of such an address are all ones.
func normalize(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96), true
	}
	return p, true
}

// globalTag ranks tags listed for the same prefix: the global AzureCloud tag
// after any other, so the regional name is kept.
func globalTag(tag string) int {
	if strings.EqualFold(tag, "AzureCloud") {
		return 1
	}
	return 0
}

// flatten turns prefixes of one address family into sorted, non-overlapping
// ranges, each carrying the tag of the most specific prefix covering it.
// Adjacent ranges with the same tag are joined. Two CIDR prefixes are either
// nested or disjoint, so a stack of the prefixes open at the current address
// is enough.
func flatten(sp []span) []entry {
	if len(sp) == 0 {
		return nil
	}
	slices.SortFunc(sp, func(a, b span) int {
		return cmp.Or(
			a.lo.Compare(b.lo),
			cmp.Compare(a.bits, b.bits), // outer before inner
			cmp.Compare(globalTag(a.tag), globalTag(b.tag)),
			cmp.Compare(a.order, b.order),
		)
	})
	var out []entry
	emit := func(lo, hi netip.Addr, tag string) {
		if !lo.IsValid() || !hi.IsValid() || hi.Less(lo) {
			return
		}
		if n := len(out); n > 0 && out[n-1].tag == tag && out[n-1].hi.Next() == lo {
			out[n-1].hi = hi
			return
		}
		out = append(out, entry{lo: lo, hi: hi, tag: tag})
	}
	var (
		stack []span
		next  netip.Addr // first address not yet emitted; invalid past the end of the space
	)
	pop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		emit(next, top.hi, top.tag)
		next = top.hi.Next()
	}
	for i, p := range sp {
		if i > 0 && p.lo == sp[i-1].lo && p.bits == sp[i-1].bits {
			continue // same prefix again: the first (preferred) tag stands
		}
		for len(stack) > 0 && stack[len(stack)-1].hi.Less(p.lo) {
			pop()
		}
		if len(stack) > 0 { // p is nested in the top: close the part before it
			emit(next, p.lo.Prev(), stack[len(stack)-1].tag)
		}
		next = p.lo
		stack = append(stack, p)
	}
	for len(stack) > 0 {
		pop()
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	b := a.AsSlice()
	bits := p.Bits()
	for i := range b {
		for bit := 0; bit < 8; bit++ {
			if i*8+bit >= bits {
				b[i] |= 0x80 >> bit
			}
		}
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// Lookup returns the tag of the most specific Azure prefix holding addr (see
// New). IPv4-mapped IPv6 addresses are looked up as IPv4. The invalid
// address and addresses with an IPv6 zone are never held, as with
// netip.Prefix.Contains.
func (s *Set) Lookup(addr netip.Addr) (tag string, ok bool) {
	if s == nil || !addr.IsValid() || addr.Zone() != "" {
		return "", false
	}
	addr = addr.Unmap()
	es := s.v6
	if addr.Is4() {
		es = s.v4
	}
	i := sort.Search(len(es), func(i int) bool { return es[i].hi.Compare(addr) >= 0 })
	if i < len(es) && es[i].lo.Compare(addr) <= 0 {
		return es[i].tag, true
	}
	return "", false
}

// Contains reports whether addr is in an Azure range.
func (s *Set) Contains(addr netip.Addr) bool {
	_, ok := s.Lookup(addr)
	return ok
}

// ContainsString parses an address (as Graph reports it) and looks it up.
// Unparseable input is not contained.
func (s *Set) ContainsString(ip string) (tag string, ok bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return "", false
	}
	return s.Lookup(a)
}

// Stats describes a set: the Service Tags entries used, the prefixes read
// (every valid prefix given to New, duplicates included) and the file's
// changeNumber.
func (s *Set) Stats() (tags, prefixes, changeNumber int) {
	if s == nil {
		return 0, 0, 0
	}
	return s.tags, s.n, s.change
}
