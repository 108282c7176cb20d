package tenant_test

import (
	"net/url"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:7071/api", true},
		{"http://127.0.0.2/", true},
		{"http://127.255.255.254/", true},
		{"http://localhost:8080/", true},
		{"http://LocalHost/", true},
		{"http://[::1]:9/", true},
		{"http://[::ffff:127.0.0.1]/", true},

		// Names that only look local: a string-prefix check let these through.
		{"http://127.evil.example/hook", false},
		{"http://127.0.0.1.evil.example/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"http://localhost.evil.example/", false},
		{"http://evil-localhost/", false},
		{"http://localhost./", false},
		// Other spellings of an address that url.Parse hands over as names.
		{"http://2130706433/", false},
		{"http://0x7f.0.0.1/", false},
		{"http://127.1/", false},
		{"http://0177.0.0.1/", false},
		// Not loopback.
		{"http://0.0.0.0/", false},
		{"http://[::]/", false},
		{"http://10.0.0.1/", false},
		{"http://128.0.0.1/", false},
		{"http://[fe80::1%25lo]/", false},
		{"http://[::1%25lo]/", false},
		{"http:///path", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := tenant.IsLoopbackHost(u.Hostname()); got != tc.want {
				t.Errorf("IsLoopbackHost(%q) = %v, want %v", u.Hostname(), got, tc.want)
			}
		})
	}
}
