package tenant

import (
	"net/netip"
	"strings"
)

// IsLoopbackHost reports whether host, a URL's Hostname() (no port, no
// brackets), names this machine: "localhost" (any case), or an IP address
// in 127.0.0.0/8 or ::1, IPv4-mapped forms included. A name is judged by
// what it is, never by how it starts: "127.evil.example" and
// "localhost.evil.example" are ordinary DNS names and are not loopback.
// Addresses with an IPv6 zone are refused (a loopback address needs none).
//
// It is the one loopback check of the code base: settings
// (TENANTWATCH_ALLOW_HTTP_LOOPBACK), the Teams sender and card links, the
// Graph client's unauthenticated mode, the scan and doctor flags and the
// simulated tenant's notification URLs all use it, so that plain http and
// secrets go to the local machine only.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}
