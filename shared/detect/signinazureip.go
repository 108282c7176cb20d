package detect

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// signInAzureIP finds users who signed in successfully from Azure
// datacentre addresses.
type signInAzureIP struct{}

func newSignInAzureIP() Detector { return signInAzureIP{} }

func (signInAzureIP) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "signin.azure-ip",
		Title: "Successful sign-in from an Azure IP address",
		Description: "A user signed in successfully from an address in Azure's public datacentre ranges. " +
			"People rarely sign in from cloud virtual machines; APT29 routed its access through Azure VMs to blend in with Microsoft traffic.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1078.004"},
		Sources:  []tenant.Source{tenant.SourceSignIns, tenant.SourceAzureRanges},
	}
}

func (d signInAzureIP) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	if in.Azure == nil {
		return nil, Skip("no Azure IP ranges (Service Tags) file was given")
	}
	type ipSeen struct {
		tag   string
		count int
	}
	type hit struct {
		id, upn string
		ips     map[string]*ipSeen
		times   []time.Time
		apps    map[string]bool
		count   int
	}
	// Sign-ins without a user id are matched to users by UPN when the
	// inventory has them, else grouped by the lower-cased UPN.
	byUPN := make(map[string]string)
	for _, u := range in.Snapshot.Users {
		if upn := lowerID(u.UPN); upn != "" {
			byUPN[upn] = u.ID
		}
	}
	hits := make(map[string]*hit)
	for _, s := range in.Snapshot.SignIns {
		if !s.Succeeded() || !inWindow(in, s.Time) {
			continue
		}
		tag, ok := in.Azure.ContainsString(s.IP)
		if !ok {
			continue
		}
		userID := cmp.Or(strings.TrimSpace(s.UserID), byUPN[lowerID(s.UPN)], lowerID(s.UPN))
		id := lowerID(userID)
		if id == "" {
			continue
		}
		h := hits[id]
		if h == nil {
			h = &hit{id: userID, ips: make(map[string]*ipSeen), apps: make(map[string]bool)}
			hits[id] = h
		}
		h.upn = cmp.Or(h.upn, s.UPN)
		ip := strings.TrimSpace(s.IP)
		if a, err := netip.ParseAddr(ip); err == nil {
			ip = a.Unmap().String()
		}
		if h.ips[ip] == nil {
			h.ips[ip] = &ipSeen{tag: tag}
		}
		h.ips[ip].count++
		h.times = append(h.times, s.Time)
		if app := cmp.Or(s.AppDisplayName, s.AppID); app != "" {
			h.apps[app] = true
		}
		h.count++
	}

	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		slices.SortFunc(h.times, func(a, b time.Time) int { return b.Compare(a) }) // newest first
		ipList := sortedKeys(h.ips)
		slices.SortStableFunc(ipList, compareIPs)
		ips := make([]map[string]any, 0, len(h.ips))
		for _, ip := range ipList {
			ips = append(ips, map[string]any{"ip": ip, "azureTag": h.ips[ip].tag, "signIns": h.ips[ip].count})
		}
		if len(ips) > maxListed {
			ips = ips[:maxListed]
		}
		times := make([]string, 0, min(len(h.times), maxListed))
		for _, t := range h.times[:min(len(h.times), maxListed)] {
			times = append(times, ts(t))
		}
		apps := sortedKeys(h.apps)
		ev := map[string]any{
			"ips":         ips,
			"ipCount":     len(h.ips),
			"times":       times,
			"signInCount": h.count,
			"apps":        capStrings(apps),
			"appCount":    len(apps),
		}
		subject := tenant.Subject{Type: tenant.SubjectUser, ID: h.id, Name: cmp.Or(h.upn, h.id)}
		if u := in.User(h.id); u != nil {
			subject = userSubject(u)
		}
		putAny(ev, "userPrincipalName", h.upn)
		out = append(out, tenant.Finding{
			Subject:    subject,
			Evidence:   ev,
			Key:        findingKey(d.Rule().ID, h.id),
			ObservedAt: h.times[0],
		})
	}
	return out, nil
}

// compareIPs orders addresses numerically (IPv4 before IPv6), and anything
// unparseable after them, as text.
func compareIPs(a, b string) int {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	switch {
	case errX == nil && errY == nil:
		return x.Compare(y)
	case errX == nil:
		return -1
	case errY == nil:
		return 1
	}
	return strings.Compare(a, b)
}
