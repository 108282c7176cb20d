package detect

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// rogueRegistration finds devices the Device Registration Service added
// for a user around a sign-in that points to a phished or stolen session:
// a device registered with a user's tokens yields a Primary Refresh Token
// that outlives a password reset (Storm-2372, 2025).
type rogueRegistration struct{}

func newRogueRegistration() Detector { return rogueRegistration{} }

func (rogueRegistration) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "device.rogue-registration",
		Title: "Device registered after a suspicious sign-in",
		Description: "\"Add device\" initiated by the Device Registration Service for a user who, in the 24 hours before, signed in " +
			"by device code, from an Azure address or from an address (and network) unlike their earlier sign-ins in the window " +
			"(in the deployed app also when an earlier round reported signin.device-code, signin.azure-ip or " +
			"signin.broker-device-registration for the user then): high. Without such a sign-in: medium for an unmanaged, " +
			"non-compliant Workplace-registered device when the user had no Workplace device registered before. A managed or " +
			"compliant device (Intune enrolment, a corporate join) is not reported; devices come from /devices with their registered owners.",
		Severity: tenant.SeverityMedium,
		MITRE:    []string{"T1098.005", "T1078.004"},
		Sources:  []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceDevices},
	}
}

// rogueLeadRules are the rules whose earlier findings on the user make a
// registration high, with what each means.
var rogueLeadRules = map[string]string{
	"signin.device-code":                "sign-in by device code",
	"signin.azure-ip":                   "sign-in from an Azure address",
	"signin.broker-device-registration": "broker sign-in to the Device Registration Service",
}

func (d rogueRegistration) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	byUser := signInsByUser(in)
	trusted := trustedPrefixes(in.Snapshot.NamedLocations)
	lead := in.Config.RogueDeviceWindow
	priorRules := sortedKeys(rogueLeadRules)
	events := deviceEventsByUser(in)
	signInsRead := in.Snapshot.Available(tenant.SourceSignIns)

	var out []tenant.Finding
	seen := make(map[string]bool)
	for _, user := range sortedKeys(events) {
		for _, e := range events[user] {
			if !e.ByDRS || e.Kind != audit.DeviceAdded {
				continue
			}
			k := user + " " + lowerID(e.DeviceID)
			if seen[k] {
				continue
			}
			seen[k] = true
			dev := in.device(e.DeviceID)
			if dev != nil && (dev.IsManaged || dev.IsCompliant) {
				continue // Intune-managed or compliant: a governed enrolment
			}
			// Sign-ins in the 24 h before.
			from := e.Time.Add(-lead)
			var why []map[string]string
			ss := byUser[user]
			for _, s := range ss {
				if !withinClosed(s.Time, from, e.Time) {
					continue
				}
				switch {
				case isDeviceCode(s):
					why = append(why, withWhat("sign-in by device code", signInRecord(s)))
				case isAzureAddress(in, s.IP):
					why = append(why, withWhat("sign-in from an Azure address", signInRecord(s)))
				case unfamiliarAddress(ss, s, trusted):
					why = append(why, withWhat("sign-in from an unfamiliar address", signInRecord(s)))
				}
			}
			for _, p := range priorFor(in, priorRules, user, from, e.Time) {
				why = append(why, priorRecord(rogueLeadRules[p.Rule], p))
			}
			sev := tenant.SeverityHigh
			var earlier []string
			if len(why) == 0 {
				sev = tenant.SeverityMedium
				if dev != nil && !strings.EqualFold(strings.TrimSpace(dev.TrustType), "Workplace") {
					continue // a join, not a registration: judged only with a suspicious sign-in
				}
				earlier = earlierWorkplaceDevices(in, user, e)
				if len(earlier) > 0 {
					continue // the user registers devices of this kind
				}
			}
			ev := map[string]any{
				"deviceObjectId":      e.DeviceID,
				"registrationRecords": deviceRecords(events[user], e),
				"lookBackHours":       int(lead.Hours()),
				"deviceInDirectory":   dev != nil,
			}
			putAny(ev, "deviceName", e.DeviceName)
			if dev != nil {
				putAny(ev, "deviceId", dev.DeviceID)
				putAny(ev, "trustType", dev.TrustType)
				putAny(ev, "operatingSystem", strings.TrimSpace(dev.OperatingSystem+" "+dev.OperatingSystemVersion))
				putAny(ev, "registrationDateTime", ts(dev.Registered))
				ev["isManaged"], ev["isCompliant"], ev["accountEnabled"] = dev.IsManaged, dev.IsCompliant, dev.AccountEnabled
				owners := make([]string, 0, len(dev.OwnerIDs))
				for _, o := range dev.OwnerIDs {
					owners = append(owners, lowerID(o))
				}
				slices.Sort(owners)
				ev["registeredOwners"] = capStrings(owners)
			} else {
				ev["note"] = "the device is not in /devices (deleted since, or not read yet): trust type, management and compliance unknown"
			}
			if len(why) > 0 {
				slices.SortStableFunc(why, func(a, b map[string]string) int { return strings.Compare(a["time"], b["time"]) })
				ev["precededBy"] = why[:min(len(why), maxListed)]
			}
			if !signInsRead {
				ev["notChecked"] = []string{string(tenant.SourceSignIns) + ": the sign-ins before the registration"}
			}
			name := ""
			for _, x := range events[user] {
				if x.DeviceID == e.DeviceID {
					name = cmp.Or(name, recordUserName(x))
				}
			}
			putAny(ev, "userPrincipalName", name)
			out = append(out, tenant.Finding{
				Subject:    subjectForUser(in, user, name),
				Evidence:   ev,
				Severity:   sev,
				Key:        findingKey(d.Rule().ID, user, e.DeviceID),
				ObservedAt: e.Time,
			})
		}
	}
	return out, nil
}

// withWhat adds what a record means to it.
func withWhat(what string, m map[string]string) map[string]string {
	m["what"] = what
	m["source"] = "signInLog"
	return m
}

// recordUserName is the user principal name a device record gives for its
// user, when it names one.
func recordUserName(e userDeviceEvent) string {
	for _, t := range e.Record.Targets {
		if strings.EqualFold(strings.TrimSpace(t.Type), "User") {
			return cmp.Or(t.UPN, t.DisplayName)
		}
	}
	return ""
}

// earlierWorkplaceDevices returns the other Workplace-registered devices
// of the user registered before the event.
func earlierWorkplaceDevices(in *Input, user string, e userDeviceEvent) []string {
	var out []string
	for _, dv := range in.Snapshot.Devices {
		if lowerID(dv.ID) == lowerID(e.DeviceID) || !strings.EqualFold(strings.TrimSpace(dv.TrustType), "Workplace") ||
			dv.Registered.IsZero() || !dv.Registered.Before(e.Time) {
			continue
		}
		if slices.ContainsFunc(dv.OwnerIDs, func(o string) bool { return lowerID(o) == user }) {
			out = append(out, dv.ID)
		}
	}
	return out
}

// deviceRecords lists the device records of the user for the device of e
// (Add device and the owner and user records).
func deviceRecords(evs []userDeviceEvent, e userDeviceEvent) []map[string]string {
	var out []map[string]string
	for _, x := range evs {
		if lowerID(x.DeviceID) == lowerID(e.DeviceID) {
			out = append(out, eventRecord(x.Record))
		}
	}
	return out[:min(len(out), maxListed)]
}
