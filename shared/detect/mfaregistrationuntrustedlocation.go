package detect

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// registrationUntrustedLocation finds MFA registrations made from addresses
// outside every trusted IP named location.
type registrationUntrustedLocation struct{}

func newRegistrationUntrustedLocation() Detector { return registrationUntrustedLocation{} }

func (registrationUntrustedLocation) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "mfa.registration-untrusted-location",
		Title: "MFA registered from an untrusted location",
		Description: "Security info was registered from an IP address outside every trusted IP named location. " +
			"Registrations from Azure addresses are raised to high: APT29 operated from Azure virtual machines.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1098.005"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceNamedLocations},
	}
}

// trustedPrefixes returns the valid CIDRs of trusted IP named locations.
func trustedPrefixes(locs []tenant.NamedLocation) []netip.Prefix {
	var out []netip.Prefix
	for _, l := range locs {
		if !l.Trusted || !strings.EqualFold(strings.TrimSpace(l.Kind), "ip") {
			continue
		}
		for _, c := range l.CIDRs {
			p, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil {
				continue
			}
			out = append(out, p.Masked())
		}
	}
	return out
}

func (d registrationUntrustedLocation) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	trusted := trustedPrefixes(in.Snapshot.NamedLocations)
	if len(trusted) == 0 {
		return nil, Skip("no trusted IP named location is defined, so no location is known to be trusted")
	}
	type hit struct {
		r     audit.SecurityInfoRegistration
		ip    string
		regs  []map[string]string
		first time.Time
	}
	hits := make(map[string]*hit)
	for _, r := range audit.SecurityInfoRegistrations(in.audits()) {
		addr, err := netip.ParseAddr(strings.TrimSpace(r.Record.Initiator.IP))
		if err != nil {
			continue
		}
		addr = addr.Unmap().WithZone("")
		if slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(addr) }) {
			continue
		}
		k := lowerID(r.UserID) + " " + addr.String()
		h := hits[k]
		if h == nil {
			h = &hit{r: r, ip: addr.String(), first: r.Record.Time}
			hits[k] = h
		}
		h.regs = append(h.regs, eventRecord(r.Record))
	}

	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		subject := tenant.Subject{Type: tenant.SubjectUser, ID: h.r.UserID, Name: h.r.UserName}
		upn := h.r.UserName
		if u := in.User(h.r.UserID); u != nil {
			subject, upn = userSubject(u), u.UPN
		}
		if subject.Name == "" {
			subject.Name = subject.ID
		}
		ev := map[string]any{
			"ip":                h.ip,
			"registrations":     h.regs,
			"firstRegistration": ts(h.first),
			"activity":          h.r.Record.Activity,
		}
		putAny(ev, "userPrincipalName", upn)
		f := tenant.Finding{
			Subject:    subject,
			Evidence:   ev,
			Key:        findingKey(d.Rule().ID, subject.ID, h.ip),
			ObservedAt: h.first,
		}
		if tag, ok := in.Azure.ContainsString(h.ip); ok {
			ev["azureTag"] = tag
			f.Severity = tenant.SeverityHigh
		}
		out = append(out, f)
	}
	return out, nil
}
