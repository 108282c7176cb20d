package azureip_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
)

// reference re-reads a Service Tags document independently of the package:
// the AzureCloud prefixes (masked, IPv4-mapped ones as IPv4) with their tags.
func reference(t *testing.T, data []byte) []azureip.Prefix {
	t.Helper()
	var doc struct {
		Values []struct {
			Name       string
			ID         string
			Properties struct{ AddressPrefixes []string }
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("Parse accepted what encoding/json rejects: %v", err)
	}
	var out []azureip.Prefix
	for _, v := range doc.Values {
		name := v.Name
		if name == "" {
			name = v.ID
		}
		if !azureip.IsAzureCloudTag(name) {
			continue
		}
		for _, s := range v.Properties.AddressPrefixes {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				t.Fatalf("Parse accepted bad prefix %q", s)
			}
			p = p.Masked()
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, azureip.Prefix{Prefix: p, Tag: name})
		}
	}
	return out
}

// trimmedSeed returns the Service Tags file with each entry cut to its first
// n IPv4 and first n IPv6 prefixes, every other field kept.
func trimmedSeed(f *testing.F, name string, n int) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		f.Fatal(err)
	}
	for _, v := range doc["values"].([]any) {
		props := v.(map[string]any)["properties"].(map[string]any)
		var v4, v6 []any
		for _, p := range props["addressPrefixes"].([]any) {
			if strings.Contains(p.(string), ":") {
				v6 = append(v6, p)
			} else {
				v4 = append(v4, p)
			}
		}
		props["addressPrefixes"] = append(v4[:min(n, len(v4))], v6[:min(n, len(v6))]...)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzParse checks that Parse never panics and that its set is exactly the
// union of the AzureCloud prefixes: every address it reports is inside one of
// them, with the tag of the most specific one holding it, and the first and
// last address of each is reported.
func FuzzParse(f *testing.F) {
	// Seeds are the real files cut to a few prefixes per entry (first IPv4
	// and IPv6 ones): the fuzzer minimises every new interesting input, and
	// minimising a 35 KB file would take the whole run.
	for _, name := range []string{"servicetags-sample.json", "servicetags-excerpt-2.json"} {
		f.Add(trimmedSeed(f, name, 2), "4.241.0.1")
		f.Add(trimmedSeed(f, name, 2), "2603:1046:1402::")
	}
	f.Add([]byte(`{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["20.0.0.0/8","20.1.0.0/16"]}},{"name":"AzureCloud.x","properties":{"addressPrefixes":["20.1.0.0/16","::ffff:20.2.0.0/112"]}}]}`), "20.1.2.3")
	f.Add([]byte(`{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["4.0.0.0/8","4.156.0.0/15"]}},{"name":"AzureCloud.x","properties":{"addressPrefixes":["4.156.0.0/15","2603:1030::/40","2603::/16"]}}]}`), "4.156.2.3")
	f.Add([]byte(`{"values":[{"id":"azurecloud.a","properties":{"addressPrefixes":["0.0.0.0/0","255.255.255.255/32","::/0"]}}]}`), "::ffff:255.255.255.255")
	f.Add([]byte(`{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["fe80::/10"]}}]}`), "fe80::1%eth0")
	f.Add([]byte(`{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["0.0.0.0/0"]}}]}`), "::ffff:0.0.0.0%0")
	f.Add([]byte(`{"values":null}`), "")
	f.Add([]byte(`[`), "1.2.3.4")

	f.Fuzz(func(t *testing.T, data []byte, probe string) {
		set, err := azureip.Parse(bytes.NewReader(data))
		if err != nil {
			if set != nil {
				t.Fatalf("Parse returned a set and error %v", err)
			}
			return
		}
		ps := reference(t, data)
		for _, p := range ps {
			if err := azureip.CheckPrefix(p.Prefix); err != nil {
				t.Fatalf("Parse accepted %s: %v", p.Prefix, err)
			}
		}
		if _, n, _ := set.Stats(); n != len(ps) {
			t.Fatalf("Stats prefixes = %d, reference has %d", n, len(ps))
		}

		// bestTag returns the tags of the most specific prefixes holding a.
		bestTag := func(a netip.Addr) (tags map[string]bool) {
			best := -1
			for _, p := range ps {
				if !p.Prefix.Contains(a) {
					continue
				}
				if p.Prefix.Bits() > best {
					best, tags = p.Prefix.Bits(), map[string]bool{}
				}
				if p.Prefix.Bits() == best {
					tags[p.Tag] = true
				}
			}
			return tags
		}
		check := func(a netip.Addr, mustHold bool) {
			tag, ok := set.Lookup(a)
			if ok != set.Contains(a) {
				t.Fatalf("Lookup and Contains disagree on %s", a)
			}
			if a.Zone() != "" { // as netip.Prefix.Contains: never held, even when mapped
				if ok {
					t.Fatalf("Lookup(%s) with a zone = %q, true", a, tag)
				}
				return
			}
			want := bestTag(a.Unmap())
			switch {
			case ok && len(want) == 0:
				t.Fatalf("Lookup(%s) = %q, true; no AzureCloud prefix holds it", a, tag)
			case ok && !want[tag]:
				t.Fatalf("Lookup(%s) = %q; most specific prefixes have tags %v", a, tag, want)
			case !ok && len(want) > 0:
				t.Fatalf("Lookup(%s) = false; held by prefixes with tags %v", a, want)
			case !ok && mustHold:
				t.Fatalf("Lookup(%s) = false; want true", a)
			}
		}

		if a, err := netip.ParseAddr(strings.TrimSpace(probe)); err == nil {
			check(a, false)
			check(a.Next(), false)
			check(a.Prev(), false)
			if a.Is4() {
				check(netip.AddrFrom16(a.As16()), false)
			}
		}
		const maxProbed = 64 // keep each run fast; the checks are O(probes × prefixes)
		for i, p := range ps {
			if i == maxProbed {
				break
			}
			first, last := p.Prefix.Addr(), lastOf(p.Prefix)
			check(first, true)
			check(last, true)
			if b := first.Prev(); b.IsValid() {
				check(b, false)
			}
			if n := last.Next(); n.IsValid() {
				check(n, false)
			}
		}
	})
}
