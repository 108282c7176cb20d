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

// signInDeviceCode finds successful sign-ins by the device-code flow: the
// phishing Microsoft reported as Storm-2372 and Volexity attributed to the
// actor (2025), where a user types an attacker's code and hands them
// tokens. What follows within DeviceCodeFollowUp says whether it was used.
type signInDeviceCode struct{}

func newSignInDeviceCode() Detector { return signInDeviceCode{} }

func (signInDeviceCode) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "signin.device-code",
		Title: "Sign-in by device code",
		Description: "A user signed in successfully by the device-code flow (beta authenticationProtocol deviceCode, or " +
			"originalTransferMethod deviceCodeFlow). High when, within an hour, a device was registered for the user, an MFA method " +
			"was added, or the user signed in from a country not seen before in the window or from an Azure address (in the deployed " +
			"app also when an earlier round reported device.rogue-registration, mfa.dormant-registration, mfa.registration-untrusted-location " +
			"or signin.azure-ip for the user then); medium otherwise. One step higher when no enabled Conditional Access policy blocking " +
			"the device-code flow applies to the user (posture.device-code-unrestricted's definition). A sign-in with nothing after it " +
			"from a trusted IP named location or from a managed or compliant device (a conference-room device) is not reported.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1528", "T1566.002", "T1078.004"},
		Sources:  []tenant.Source{tenant.SourceSignIns, tenant.SourceSignInsBeta},
	}
}

// deviceCodeFollowUpRules are the rules whose earlier findings on the user
// count as a device-code sign-in's follow-up, with what each means.
var deviceCodeFollowUpRules = map[string]string{
	"device.rogue-registration":           "device registered",
	"mfa.dormant-registration":            "MFA method added",
	"mfa.registration-untrusted-location": "MFA method added",
	"signin.azure-ip":                     "sign-in from an Azure address",
}

func (d signInDeviceCode) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	byUser := signInsByUser(in)
	devices := deviceEventsByUser(in)
	regs := make(map[string][]audit.SecurityInfoRegistration)
	for _, r := range audit.SecurityInfoRegistrations(in.audits()) {
		regs[lowerID(r.UserID)] = append(regs[lowerID(r.UserID)], r)
	}
	trusted := trustedPrefixes(in.Snapshot.NamedLocations)
	caKnown := mfaPostureKnown(in)
	priorRules := sortedKeys(deviceCodeFollowUpRules)
	follow := in.Config.DeviceCodeFollowUp

	type hit struct {
		user    string
		upn     string
		signIns []map[string]string
		follows []map[string]string
		first   time.Time
	}
	hits := make(map[string]*hit)
	for _, user := range sortedKeys(byUser) {
		ss := byUser[user]
		for _, s := range ss {
			if !isDeviceCode(s) {
				continue
			}
			to := s.Time.Add(follow)
			var fs []map[string]string
			for _, e := range devices[user] {
				if withinClosed(e.Time, s.Time, to) {
					m := map[string]string{"what": "device registered", "time": ts(e.Time), "activity": e.Activity, "deviceObjectId": e.DeviceID, "source": "auditLog"}
					putString(m, "deviceName", e.DeviceName)
					fs = append(fs, m)
				}
			}
			for _, r := range regs[user] {
				if withinClosed(r.Record.Time, s.Time, to) {
					fs = append(fs, map[string]string{"what": "MFA method added", "time": ts(r.Record.Time), "activity": r.Record.Activity, "source": "auditLog"})
				}
			}
			for _, o := range ss {
				if !o.Time.After(s.Time) || o.Time.After(to) {
					continue
				}
				if isAzureAddress(in, o.IP) {
					fs = append(fs, map[string]string{"what": "sign-in from an Azure address", "time": ts(o.Time), "ip": normIP(o.IP), "source": "signInLog"})
				} else if newCountry(ss, o) {
					fs = append(fs, map[string]string{"what": "sign-in from a new country", "time": ts(o.Time), "ip": normIP(o.IP), "country": o.Country, "source": "signInLog"})
				}
			}
			for _, p := range priorFor(in, priorRules, user, s.Time, to) {
				fs = append(fs, priorRecord(deviceCodeFollowUpRules[p.Rule], p))
			}
			if len(fs) == 0 && lookAlike(in, s, trusted) {
				continue
			}
			day := s.Time.UTC().Format(time.DateOnly)
			k := user + " " + day
			h := hits[k]
			if h == nil {
				h = &hit{user: user, first: s.Time}
				hits[k] = h
			}
			h.upn = firstNonEmptyString(h.upn, s.UPN)
			h.signIns = append(h.signIns, signInRecord(s))
			h.follows = append(h.follows, fs...)
		}
	}

	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		sev := tenant.SeverityMedium
		ev := map[string]any{
			"signIns":         h.signIns[:min(len(h.signIns), maxListed)],
			"signInCount":     len(h.signIns),
			"firstSignIn":     ts(h.first),
			"followUpMinutes": int(follow.Minutes()),
		}
		if len(h.follows) > 0 {
			sev = tenant.SeverityHigh
			slices.SortStableFunc(h.follows, func(a, b map[string]string) int { return strings.Compare(a["time"], b["time"]) })
			ev["followedBy"] = h.follows[:min(len(h.follows), maxListed)]
		}
		if caKnown && !deviceCodeBlockedFor(in, h.user) {
			sev = raise(sev)
			ev["raisedBecause"] = "no enabled Conditional Access policy blocking the device-code flow applies to the user"
		} else if !caKnown {
			ev["notChecked"] = []string{string(tenant.SourceCAPolicies) + " / " + string(tenant.SourceCAGroupMembers) + ": whether the device-code flow is blocked for the user"}
		}
		putAny(ev, "userPrincipalName", h.upn)
		out = append(out, tenant.Finding{
			Subject:    subjectForUser(in, h.user, h.upn),
			Evidence:   ev,
			Severity:   sev,
			Key:        findingKey(d.Rule().ID, h.user, h.first.UTC().Format(time.DateOnly)),
			ObservedAt: h.first,
		})
	}
	return out, nil
}

// lookAlike reports whether a device-code sign-in with nothing after it
// looks like a conference-room device's: from a trusted IP named location
// (Microsoft's guidance allows the flow for room devices on a known
// network), or from a device the directory knows as managed or compliant.
func lookAlike(in *Input, s tenant.SignIn, trusted []netip.Prefix) bool {
	if inTrusted(trusted, s.IP) {
		return true
	}
	d := in.deviceByDeviceID(s.DeviceID)
	return d != nil && (d.IsManaged || d.IsCompliant)
}

func firstNonEmptyString(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
