package azureip_test

import (
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenantwatch/tenantwatch/shared/azureip"
)

const (
	sampleFile   = "servicetags-sample.json"    // AzureActiveDirectory, AzureCloud.japaneast, AzureCloud.northeurope (changeNumber 410)
	excerpt2File = "servicetags-excerpt-2.json" // ActionGroup, AzureCloud.eastus, AzureCloud.westeurope, AzureCloud (changeNumber 370)
)

func load(t testing.TB, name string) *azureip.Set {
	t.Helper()
	s, err := azureip.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return s
}

func TestParseStats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file                       string
		tags, prefixes, changeNumb int
	}{
		// AzureActiveDirectory (401 prefixes) is not used: 274 japaneast + 452 northeurope.
		{file: sampleFile, tags: 2, prefixes: 274 + 452, changeNumb: 410},
		// ActionGroup (22) is not used: 112 eastus + 112 westeurope + 284 AzureCloud.
		{file: excerpt2File, tags: 3, prefixes: 112 + 112 + 284, changeNumb: 370},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			s := load(t, tc.file)
			tags, prefixes, change := s.Stats()
			if tags != tc.tags || prefixes != tc.prefixes || change != tc.changeNumb {
				t.Errorf("Stats() = %d, %d, %d; want %d, %d, %d", tags, prefixes, change, tc.tags, tc.prefixes, tc.changeNumb)
			}
		})
	}
}

// lookupCase is one address and the expected answer.
type lookupCase struct {
	name string
	addr string
	tag  string // "" = not contained
}

func TestLookupSample(t *testing.T) {
	t.Parallel()
	s := load(t, sampleFile)
	tests := []lookupCase{
		// 4.241.0.0/16 (japaneast) has no Azure neighbour on either side.
		{name: "first address", addr: "4.241.0.0", tag: "AzureCloud.japaneast"},
		{name: "inside", addr: "4.241.77.9", tag: "AzureCloud.japaneast"},
		{name: "last address", addr: "4.241.255.255", tag: "AzureCloud.japaneast"},
		{name: "just before", addr: "4.240.255.255"},
		{name: "just after", addr: "4.242.0.0"},
		// 4.189.0.0/16 and 4.190.0.0/17 are adjacent japaneast prefixes.
		{name: "across adjacent prefixes", addr: "4.190.0.0", tag: "AzureCloud.japaneast"},
		{name: "end of adjacent run", addr: "4.190.127.255", tag: "AzureCloud.japaneast"},
		{name: "after adjacent run", addr: "4.190.128.0"},
		{name: "before adjacent run", addr: "4.188.255.255"},
		// 4.231.128.0/17 (northeurope).
		{name: "other region first", addr: "4.231.128.0", tag: "AzureCloud.northeurope"},
		{name: "other region last", addr: "4.231.255.255", tag: "AzureCloud.northeurope"},
		{name: "other region before", addr: "4.231.127.255"},
		{name: "other region after", addr: "4.232.0.0"},
		{name: "small prefix last", addr: "9.129.58.95", tag: "AzureCloud.japaneast"},                      // 9.129.58.80/28
		{name: "small prefix after", addr: "9.129.58.96"},                                                  //
		{name: "small prefix before", addr: "9.129.58.79"},                                                 //
		{name: "AzureActiveDirectory only", addr: "4.146.0.17"},                                            // 4.146.0.16/28 is AzureActiveDirectory only
		{name: "AzureActiveDirectory inside region", addr: "4.207.244.177", tag: "AzureCloud.northeurope"}, // also in 4.207.0.0/16
		{name: "eastus not in sample", addr: "4.156.0.1"},                                                  // AzureCloud.eastus 4.156.0.0/15 (excerpt 2)
		{name: "westeurope not in sample", addr: "13.80.0.1"},                                              // AzureCloud.westeurope 13.80.0.0/15 (excerpt 2)
		{name: "private", addr: "10.0.0.1"},
		{name: "unspecified v4", addr: "0.0.0.0"},
		{name: "broadcast", addr: "255.255.255.255"},
		// 2603:1046:1402::/48 (japaneast) has no Azure neighbour.
		{name: "v6 first address", addr: "2603:1046:1402::", tag: "AzureCloud.japaneast"},
		{name: "v6 inside", addr: "2603:1046:1402:abcd::1", tag: "AzureCloud.japaneast"},
		{name: "v6 last address", addr: "2603:1046:1402:ffff:ffff:ffff:ffff:ffff", tag: "AzureCloud.japaneast"},
		{name: "v6 just before", addr: "2603:1046:1401:ffff:ffff:ffff:ffff:ffff"},
		{name: "v6 just after", addr: "2603:1046:1403::"},
		{name: "v6 northeurope", addr: "2603:1020::1", tag: "AzureCloud.northeurope"},
		{name: "v6 2a01:111:f403 japaneast", addr: "2a01:111:f403:c405::25", tag: "AzureCloud.japaneast"},
		{name: "v6 2a01:111:f403 northeurope", addr: "2a01:111:f403:c200::1", tag: "AzureCloud.northeurope"},
		{name: "v6 2a01:111:f403 gap", addr: "2a01:111:f403:c201::"},
		{name: "v6 documentation", addr: "2001:db8::1"},
		{name: "v6 unspecified", addr: "::"},
		{name: "v4-mapped inside", addr: "::ffff:4.241.0.1", tag: "AzureCloud.japaneast"},
		{name: "v4-mapped last", addr: "::ffff:4.241.255.255", tag: "AzureCloud.japaneast"},
		{name: "v4-mapped outside", addr: "::ffff:4.242.0.0"},
		{name: "v4-compatible is not v4", addr: "::4.241.0.1"},
		{name: "zone", addr: "2603:1046:1402::1%eth0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := netip.MustParseAddr(tc.addr)
			tag, ok := s.Lookup(a)
			if ok != (tc.tag != "") || tag != tc.tag {
				t.Errorf("Lookup(%s) = %q, %v; want %q, %v", tc.addr, tag, ok, tc.tag, tc.tag != "")
			}
			if got := s.Contains(a); got != (tc.tag != "") {
				t.Errorf("Contains(%s) = %v, want %v", tc.addr, got, tc.tag != "")
			}
			tag, ok = s.ContainsString(tc.addr)
			if ok != (tc.tag != "") || tag != tc.tag {
				t.Errorf("ContainsString(%q) = %q, %v; want %q, %v", tc.addr, tag, ok, tc.tag, tc.tag != "")
			}
		})
	}
}

func TestLookupExcerpt2(t *testing.T) {
	t.Parallel()
	s := load(t, excerpt2File)
	tests := []lookupCase{
		// 4.156.0.0/15 is listed under both AzureCloud.eastus and the global
		// AzureCloud (which comes last in the file): the region wins.
		{name: "eastus and global", addr: "4.156.0.1", tag: "AzureCloud.eastus"},
		{name: "eastus and global last", addr: "4.157.255.255", tag: "AzureCloud.eastus"},
		{name: "eastus and global 13.90", addr: "13.90.128.1", tag: "AzureCloud.eastus"},
		{name: "westeurope and global", addr: "13.80.0.1", tag: "AzureCloud.westeurope"},
		{name: "global only", addr: "4.152.0.1", tag: "AzureCloud"},
		{name: "global only 13.65", addr: "13.65.1.2", tag: "AzureCloud"},
		{name: "ActionGroup is not used", addr: "4.202.253.101"}, // ActionGroup 4.202.253.100/30
		{name: "japaneast not in excerpt", addr: "4.241.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tag, ok := s.Lookup(netip.MustParseAddr(tc.addr))
			if ok != (tc.tag != "") || tag != tc.tag {
				t.Errorf("Lookup(%s) = %q, %v; want %q, %v", tc.addr, tag, ok, tc.tag, tc.tag != "")
			}
		})
	}
}

func TestLookupInvalid(t *testing.T) {
	t.Parallel()
	s := load(t, sampleFile)
	if tag, ok := s.Lookup(netip.Addr{}); ok || tag != "" {
		t.Errorf("Lookup(zero Addr) = %q, %v; want not contained", tag, ok)
	}
	for _, in := range []string{"", " ", "not-an-ip", "4.241.0", "4.241.0.0.1", "4.241.0.0/16", "4.241.0.256", "04.241.0.1", "2603:1046:1402::/48", "[2603:1046:1402::1]", "4.241.0.1:443", "\x00"} {
		if tag, ok := s.ContainsString(in); ok || tag != "" {
			t.Errorf("ContainsString(%q) = %q, %v; want not contained", in, tag, ok)
		}
	}
	// Graph may pad; surrounding space is trimmed.
	if _, ok := s.ContainsString(" 4.241.0.1\n"); !ok {
		t.Error(`ContainsString(" 4.241.0.1\n") = false, want true`)
	}
}

func TestNilAndZeroSet(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr("4.241.0.1")
	var nilSet *azureip.Set
	for name, s := range map[string]*azureip.Set{"nil": nilSet, "zero": {}, "empty New": azureip.New(nil)} {
		if s.Contains(a) {
			t.Errorf("%s set: Contains = true", name)
		}
		if _, ok := s.ContainsString("4.241.0.1"); ok {
			t.Errorf("%s set: ContainsString = true", name)
		}
		if tags, n, c := s.Stats(); tags != 0 || n != 0 || c != 0 {
			t.Errorf("%s set: Stats() = %d, %d, %d; want zeros", name, tags, n, c)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		isErr error  // checked with errors.Is when set
		msg   string // substring of the error
	}{
		{name: "empty input", in: "", msg: "not a Service Tags JSON file"},
		{name: "not JSON", in: "AzureCloud 4.0.0.0/8", msg: "not a Service Tags JSON file"},
		{name: "truncated", in: `{"values":[{"name":"AzureCloud"`, msg: "not a Service Tags JSON file"},
		{name: "array", in: `[]`, msg: "not a Service Tags JSON file"},
		{name: "prefixes not strings", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":[1]}}]}`, msg: "not a Service Tags JSON file"},
		{name: "trailing garbage", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["4.0.0.0/8"]}}]} x`, msg: "not a Service Tags JSON file"},
		{name: "null", in: `null`, isErr: azureip.ErrNoAzureCloud},
		{name: "no values", in: `{"changeNumber":1,"cloud":"Public"}`, isErr: azureip.ErrNoAzureCloud},
		{name: "empty values", in: `{"values":[]}`, isErr: azureip.ErrNoAzureCloud},
		{name: "only other tags", in: `{"values":[{"name":"AzureActiveDirectory","properties":{"addressPrefixes":["4.146.0.16/28"]}},{"name":"AzureCloudX","properties":{"addressPrefixes":["1.0.0.0/8"]}},{"name":"AzureCloud.","properties":{"addressPrefixes":["2.0.0.0/8"]}}]}`, isErr: azureip.ErrNoAzureCloud},
		{name: "malformed prefix", in: `{"values":[{"name":"AzureCloud.eastus","properties":{"addressPrefixes":["4.156.0.0/15","4.156.0.0/33"]}}]}`, msg: `entry "AzureCloud.eastus"`},
		{name: "address without length", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["4.156.0.0"]}}]}`, msg: "4.156.0.0"},
		{name: "empty prefix", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":[""]}}]}`, msg: `entry "AzureCloud"`},
		{name: "zone in prefix", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["fe80::%eth0/64"]}}]}`, msg: `entry "AzureCloud"`},

		// Ranges that cannot be Azure's public space: the whole file is
		// refused (0.0.0.0/0 made every sign-in an "Azure" sign-in).
		{name: "everything", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["0.0.0.0/0"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: `entry "AzureCloud": not Azure public address space: 0.0.0.0/0 is shorter than /8`},
		{name: "everything IPv6", in: `{"values":[{"name":"AzureCloud.eastus","properties":{"addressPrefixes":["20.1.0.0/16","::/0"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "::/0 is shorter than /16"},
		{name: "IPv4 shorter than /8", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["64.0.0.0/7"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "shorter than /8"},
		{name: "IPv6 shorter than /16", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["2600::/15"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "shorter than /16"},
		{name: "IPv4-mapped everything", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["::ffff:0.0.0.0/96"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "shorter than /8"},
		{name: "private 10/8", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["10.0.0.0/8"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "private"},
		{name: "inside private 172.16/12", in: `{"values":[{"name":"AzureCloud.westeurope","properties":{"addressPrefixes":["172.20.1.0/24"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: `entry "AzureCloud.westeurope"`},
		{name: "covers private 192.168/16", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["192.0.0.0/8"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "private"},
		{name: "loopback", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["127.0.0.1/32"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "loopback"},
		{name: "IPv4-mapped loopback", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["::ffff:127.0.0.0/104"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "loopback"},
		{name: "unspecified", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["0.0.0.0/32"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "unspecified"},
		{name: "IPv6 loopback", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["::1/128"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "loopback"},
		{name: "IPv6 unspecified", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["::/64"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "unspecified"},
		{name: "IPv6 unique local", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["fd00:1234::/32"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "private"},
		{name: "link-local", in: `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["169.254.0.0/16"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "link-local"},
		{name: "one bad range among real ones", in: `{"values":[{"name":"AzureCloud.eastus","properties":{"addressPrefixes":["4.156.0.0/15","2603:1030::/40"]}},{"name":"AzureCloud","properties":{"addressPrefixes":["4.152.0.0/15","10.1.0.0/16"]}}]}`, isErr: azureip.ErrImplausiblePrefix, msg: "10.1.0.0/16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := azureip.Parse(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Parse = %v, nil; want error", s)
			}
			if s != nil {
				t.Errorf("Parse returned a set with error %v", err)
			}
			if tc.isErr != nil && !errors.Is(err, tc.isErr) {
				t.Errorf("Parse error %q is not %q", err, tc.isErr)
			}
			if !strings.HasPrefix(err.Error(), "azureip: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse error %q; want prefix \"azureip: \" and %q", err, tc.msg)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []lookupCase
	}{
		{
			// Only AzureCloud entries are validated; a bad prefix elsewhere is ignored.
			name: "malformed prefix in other tag",
			in:   `{"values":[{"name":"Storage","properties":{"addressPrefixes":["nonsense"]}},{"name":"AzureCloud","properties":{"addressPrefixes":["4.152.0.0/15"]}}]}`,
			want: []lookupCase{{addr: "4.152.0.1", tag: "AzureCloud"}},
		},
		{
			name: "name falls back to id, case-insensitive",
			in:   `{"values":[{"id":"azurecloud.EastUS","properties":{"addressPrefixes":["4.156.0.0/15"]}}]}`,
			want: []lookupCase{{addr: "4.156.0.1", tag: "azurecloud.EastUS"}, {addr: "4.158.0.0"}},
		},
		{
			name: "unmasked prefix and spaces",
			in:   `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":[" 4.156.1.2/15 "]}}]}`,
			want: []lookupCase{{addr: "4.156.0.0", tag: "AzureCloud"}, {addr: "4.157.255.255", tag: "AzureCloud"}, {addr: "4.158.0.0"}},
		},
		{
			name: "entry with no prefixes",
			in:   `{"values":[{"name":"AzureCloud.eastus","properties":{"addressPrefixes":[]}}]}`,
			want: []lookupCase{{addr: "4.156.0.1"}},
		},
		{
			// Only AzureCloud entries are sanity-checked: other tags are not used.
			name: "private range in other tag",
			in:   `{"values":[{"name":"VirtualNetwork","properties":{"addressPrefixes":["10.0.0.0/8","0.0.0.0/0"]}},{"name":"AzureCloud","properties":{"addressPrefixes":["4.152.0.0/15"]}}]}`,
			want: []lookupCase{{addr: "4.152.0.1", tag: "AzureCloud"}, {addr: "10.0.0.1"}},
		},
		{
			// The limits themselves are accepted.
			name: "a /8 and an IPv6 /16",
			in:   `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["20.0.0.0/8","2603::/16"]}}]}`,
			want: []lookupCase{{addr: "20.255.255.255", tag: "AzureCloud"}, {addr: "2603:ffff::1", tag: "AzureCloud"}, {addr: "21.0.0.0"}},
		},
		{
			name: "IPv4-mapped prefix",
			in:   `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["::ffff:4.156.0.0/111"]}}]}`,
			want: []lookupCase{{addr: "4.156.0.1", tag: "AzureCloud"}, {addr: "::ffff:4.157.255.255", tag: "AzureCloud"}, {addr: "4.158.0.0"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := azureip.Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				tag, ok := s.ContainsString(w.addr)
				if ok != (w.tag != "") || tag != w.tag {
					t.Errorf("ContainsString(%s) = %q, %v; want %q", w.addr, tag, ok, w.tag)
				}
			}
		})
	}
}

// endless yields spaces forever and counts what was read.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestParseOversize(t *testing.T) {
	t.Parallel()
	r := &endless{}
	_, err := azureip.Parse(r)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Parse(endless) error = %v, want too large", err)
	}
	if r.n > azureip.MaxFileBytes+64<<10 { // io.ReadAll may ask for a little more than the limit reader passes on
		t.Errorf("Parse read %d bytes from an endless reader; want about %d", r.n, azureip.MaxFileBytes+1)
	}
	// Exactly MaxFileBytes of valid JSON (padded with spaces) is accepted.
	doc := `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["4.152.0.0/15"]}}]}`
	exact := io.MultiReader(strings.NewReader(doc), io.LimitReader(&endless{}, azureip.MaxFileBytes-int64(len(doc))))
	if _, err := azureip.Parse(exact); err != nil {
		t.Errorf("Parse(%d bytes) = %v, want nil", azureip.MaxFileBytes, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	t.Parallel()
	_, err := azureip.Parse(failingReader{})
	if err == nil || !strings.Contains(err.Error(), "azureip: read: disk on fire") {
		t.Errorf("Parse(failing reader) error = %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	_, err := azureip.Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadNamesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tags.json")
	if err := os.WriteFile(path, []byte(`{"values":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := azureip.Load(path)
	if !errors.Is(err, azureip.ErrNoAzureCloud) || !strings.Contains(err.Error(), path) {
		t.Errorf("Load error = %v, want ErrNoAzureCloud naming %s", err, path)
	}
}

func TestIsAzureCloudTag(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"AzureCloud":             true,
		"azurecloud":             true,
		"AzureCloud.eastus":      true,
		"AZURECLOUD.westeurope":  true,
		"AzureCloud.":            false,
		"AzureCloudX":            false,
		"AzureCloud2.eastus":     false,
		"AzureActiveDirectory":   false,
		"Storage.AzureCloud":     false,
		"":                       false,
		"AzureCloud.eastus.foo":  true, // regional slice name is not validated further
		"ActionGroup":            false,
		"AzureCloudEnterprise.x": false,
	}
	for name, want := range tests {
		if got := azureip.IsAzureCloudTag(name); got != want {
			t.Errorf("IsAzureCloudTag(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNewMerging(t *testing.T) {
	t.Parallel()
	p := func(s, tag string) azureip.Prefix { return azureip.Prefix{Prefix: netip.MustParsePrefix(s), Tag: tag} }
	tests := []struct {
		name     string
		in       []azureip.Prefix
		prefixes int // Stats
		want     []lookupCase
	}{
		{
			name:     "nested: most specific wins, outer around it",
			in:       []azureip.Prefix{p("10.0.0.0/8", "AzureCloud"), p("10.1.0.0/16", "AzureCloud.eastus")},
			prefixes: 2,
			want: []lookupCase{
				{addr: "10.0.0.0", tag: "AzureCloud"},
				{addr: "10.0.255.255", tag: "AzureCloud"},
				{addr: "10.1.0.0", tag: "AzureCloud.eastus"},
				{addr: "10.1.255.255", tag: "AzureCloud.eastus"},
				{addr: "10.2.0.0", tag: "AzureCloud"},
				{addr: "10.255.255.255", tag: "AzureCloud"},
				{addr: "11.0.0.0"},
				{addr: "9.255.255.255"},
			},
		},
		{
			name:     "nested, inner listed first",
			in:       []azureip.Prefix{p("10.1.0.0/16", "AzureCloud.eastus"), p("10.0.0.0/8", "AzureCloud")},
			prefixes: 2,
			want:     []lookupCase{{addr: "10.1.2.3", tag: "AzureCloud.eastus"}, {addr: "10.2.3.4", tag: "AzureCloud"}},
		},
		{
			name: "three levels and siblings",
			in: []azureip.Prefix{
				p("10.0.0.0/8", "a"), p("10.0.0.0/16", "b"), p("10.0.0.0/24", "c"), p("10.0.1.0/24", "d"), p("10.128.0.0/9", "e"),
			},
			prefixes: 5,
			want: []lookupCase{
				{addr: "10.0.0.0", tag: "c"}, {addr: "10.0.0.255", tag: "c"}, {addr: "10.0.1.0", tag: "d"},
				{addr: "10.0.2.0", tag: "b"}, {addr: "10.0.255.255", tag: "b"}, {addr: "10.1.0.0", tag: "a"},
				{addr: "10.127.255.255", tag: "a"}, {addr: "10.128.0.0", tag: "e"}, {addr: "10.255.255.255", tag: "e"},
			},
		},
		{
			name:     "same prefix: region beats global, either order",
			in:       []azureip.Prefix{p("4.156.0.0/15", "AzureCloud"), p("4.156.0.0/15", "AzureCloud.eastus"), p("13.90.0.0/16", "AzureCloud.eastus"), p("13.90.0.0/16", "AzureCloud")},
			prefixes: 4,
			want:     []lookupCase{{addr: "4.156.0.1", tag: "AzureCloud.eastus"}, {addr: "13.90.0.1", tag: "AzureCloud.eastus"}},
		},
		{
			name:     "same prefix, two regions: first listed",
			in:       []azureip.Prefix{p("4.156.0.0/15", "AzureCloud.westus"), p("4.156.0.0/15", "AzureCloud.eastus")},
			prefixes: 2,
			want:     []lookupCase{{addr: "4.157.0.1", tag: "AzureCloud.westus"}},
		},
		{
			name:     "adjacent and overlapping",
			in:       []azureip.Prefix{p("10.0.0.0/25", "x"), p("10.0.0.128/25", "x"), p("10.0.0.0/24", "x"), p("10.0.1.0/24", "y")},
			prefixes: 4,
			want:     []lookupCase{{addr: "10.0.0.127", tag: "x"}, {addr: "10.0.0.128", tag: "x"}, {addr: "10.0.0.255", tag: "x"}, {addr: "10.0.1.0", tag: "y"}, {addr: "10.0.2.0"}},
		},
		{
			name:     "whole space and the last address",
			in:       []azureip.Prefix{p("0.0.0.0/0", "all"), p("255.255.255.255/32", "top"), p("0.0.0.0/32", "bottom"), p("::/0", "all6"), p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", "top6")},
			prefixes: 5,
			want: []lookupCase{
				{addr: "0.0.0.0", tag: "bottom"}, {addr: "0.0.0.1", tag: "all"}, {addr: "255.255.255.254", tag: "all"}, {addr: "255.255.255.255", tag: "top"},
				{addr: "::", tag: "all6"}, {addr: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff", tag: "all6"}, {addr: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", tag: "top6"},
				{addr: "::ffff:1.2.3.4", tag: "all"}, // mapped addresses are IPv4
			},
		},
		{
			name:     "unmasked input is masked",
			in:       []azureip.Prefix{p("10.1.2.3/16", "x")},
			prefixes: 1,
			want:     []lookupCase{{addr: "10.1.0.0", tag: "x"}, {addr: "10.1.255.255", tag: "x"}, {addr: "10.2.0.0"}},
		},
		{
			name:     "IPv4-mapped prefix stored as IPv4",
			in:       []azureip.Prefix{p("::ffff:10.0.0.0/104", "m")},
			prefixes: 1,
			want:     []lookupCase{{addr: "10.1.2.3", tag: "m"}, {addr: "::ffff:10.1.2.3", tag: "m"}, {addr: "11.0.0.0"}},
		},
		{
			name:     "invalid prefixes ignored",
			in:       []azureip.Prefix{{Tag: "zero"}, {Prefix: netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33), Tag: "bits"}, p("2001:db8::/32", "doc")},
			prefixes: 1,
			want:     []lookupCase{{addr: "2001:db8::1", tag: "doc"}, {addr: "::"}, {addr: "10.0.0.1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := azureip.New(tc.in)
			if _, n, _ := s.Stats(); n != tc.prefixes {
				t.Errorf("Stats() prefixes = %d, want %d", n, tc.prefixes)
			}
			var got, want []lookupCase
			for _, w := range tc.want {
				tag, _ := s.Lookup(netip.MustParseAddr(w.addr))
				got = append(got, lookupCase{addr: w.addr, tag: tag})
				want = append(want, lookupCase{addr: w.addr, tag: w.tag})
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(lookupCase{})); diff != "" {
				t.Errorf("lookups (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewKeepsInput checks that New does not reorder the caller's slice.
func TestNewKeepsInput(t *testing.T) {
	t.Parallel()
	in := []azureip.Prefix{
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Tag: "b"},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Tag: "a"},
	}
	want := append([]azureip.Prefix(nil), in...)
	azureip.New(in)
	if diff := cmp.Diff(want, in, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("New changed its input (-want +got):\n%s", diff)
	}
}
