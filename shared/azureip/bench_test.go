package azureip_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
)

// sampleAddrs returns, for every prefix in the sample file (all entries,
// AzureActiveDirectory included), its first address, the one before it, a
// middle one and the one after its end: a mix of hits and misses, IPv4 and IPv6.
func sampleAddrs(b *testing.B) []netip.Addr {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "servicetags-sample.json"))
	if err != nil {
		b.Fatal(err)
	}
	var doc struct {
		Values []struct {
			Properties struct{ AddressPrefixes []string }
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		b.Fatal(err)
	}
	var out []netip.Addr
	for _, v := range doc.Values {
		for _, s := range v.Properties.AddressPrefixes {
			p := netip.MustParsePrefix(s)
			last := lastOf(p)
			out = append(out, p.Addr(), p.Addr().Prev(), p.Addr().Next(), last.Next())
		}
	}
	return out
}

func BenchmarkLookup(b *testing.B) {
	set := load(b, "servicetags-sample.json")
	addrs := sampleAddrs(b)
	hits := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := set.Lookup(addrs[i%len(addrs)]); ok {
			hits++
		}
	}
	_ = hits
}

func BenchmarkContainsString(b *testing.B) {
	set := load(b, "servicetags-sample.json")
	addrs := sampleAddrs(b)
	strs := make([]string, len(addrs))
	for i, a := range addrs {
		strs[i] = a.String()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		set.ContainsString(strs[i%len(strs)])
	}
}

func BenchmarkParseSample(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "servicetags-sample.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := azureip.Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
