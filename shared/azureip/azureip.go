// Package azureip answers whether an IP address belongs to Microsoft Azure's
// public datacentre space, from a Service Tags file
// (ServiceTags_Public_YYYYMMDD.json, or the Service Tag Discovery API's
// response, which has the same "values" array).
//
// Only the tag "AzureCloud" and its regional slices "AzureCloud.<region>" are
// used: they cover every Azure public address. Other tags (AzureActiveDirectory,
// Storage, …) are subsets or services and are ignored, as are Microsoft 365
// endpoint lists, which are not Azure space.
package azureip

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
)

// MaxFileBytes bounds how much of a Service Tags file Parse reads. The public
// file is about 5 MB; the bound leaves room for growth.
const MaxFileBytes = 64 << 20

// ErrNoAzureCloud is returned when a file parses but holds no AzureCloud entry.
var ErrNoAzureCloud = errors.New("no AzureCloud or AzureCloud.<region> entries")

// Set is an immutable set of Azure prefixes. The zero value and nil are empty.
type Set struct {
	v4, v6 []entry // sorted by start address, non-overlapping after merge
	tags   int
	n      int
	change int
}

type entry struct {
	lo, hi netip.Addr
	tag    string // the first tag that contributed the range
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
// entry, on input over MaxFileBytes, and with ErrNoAzureCloud when no entry
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

// New builds a set from prefixes (used by Parse and by tests).
func New(ps []Prefix) *Set {
	s := &Set{n: len(ps)}
	for _, p := range ps {
		lo := p.Prefix.Masked().Addr()
		e := entry{lo: lo, hi: lastAddr(p.Prefix), tag: p.Tag}
		if lo.Is4() {
			s.v4 = append(s.v4, e)
		} else {
			s.v6 = append(s.v6, e)
		}
	}
	s.v4 = merge(s.v4)
	s.v6 = merge(s.v6)
	return s
}

func merge(es []entry) []entry {
	if len(es) == 0 {
		return nil
	}
	sort.Slice(es, func(i, j int) bool {
		if c := es[i].lo.Compare(es[j].lo); c != 0 {
			return c < 0
		}
		return es[i].hi.Compare(es[j].hi) > 0
	})
	out := es[:1]
	for _, e := range es[1:] {
		last := &out[len(out)-1]
		if e.lo.Compare(last.hi) <= 0 { // contained or overlapping
			if e.hi.Compare(last.hi) > 0 {
				last.hi = e.hi
			}
			continue
		}
		out = append(out, e)
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

// Lookup returns the tag of the Azure range holding addr. IPv4-mapped IPv6
// addresses are looked up as IPv4.
func (s *Set) Lookup(addr netip.Addr) (tag string, ok bool) {
	if s == nil || !addr.IsValid() {
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

// Stats describes a set: entries used, prefixes read, and the file's
// changeNumber.
func (s *Set) Stats() (tags, prefixes, changeNumber int) {
	if s == nil {
		return 0, 0, 0
	}
	return s.tags, s.n, s.change
}
