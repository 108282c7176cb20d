package detect

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// brokerDeviceRegistration finds the Microsoft Authentication Broker
// obtaining a token for the Device Registration Service, followed by a
// device registration for the same user, from an address or device the
// user had not used: the step that turns a phished refresh token into a
// registered device and a Primary Refresh Token (Volexity, 2025).
type brokerDeviceRegistration struct{}

func newBrokerDeviceRegistration() Detector { return brokerDeviceRegistration{} }

func (brokerDeviceRegistration) Rule() tenant.Rule {
	return tenant.Rule{
		ID:    "signin.broker-device-registration",
		Title: "Broker sign-in to Device Registration Service, then a device registered",
		Description: "A successful sign-in by the Microsoft Authentication Broker (29d9ed98-…) to the Device Registration Service " +
			"(01cb2876-…), from an address or device the user's other sign-ins in the window did not use, followed within an hour by " +
			"\"Add device\", \"Add registered owner to device\" or \"Add registered users to device\" for the same user (in the deployed " +
			"app also by an earlier round's device.rogue-registration for the user then).",
		Severity: tenant.SeverityHigh,
		MITRE:    []string{"T1098.005", "T1528"},
		// The directory audits are read when available: the deployed
		// app's sign-in rounds join the registration through an earlier
		// round's device.rogue-registration instead.
		Sources: []tenant.Source{tenant.SourceSignIns},
	}
}

func (d brokerDeviceRegistration) Detect(_ context.Context, in *Input) ([]tenant.Finding, error) {
	byUser := signInsByUser(in)
	devices := deviceEventsByUser(in)
	follow := in.Config.DeviceCodeFollowUp
	type hit struct {
		user, upn string
		first     time.Time
		signIns   []map[string]string
		follows   []map[string]string
	}
	hits := make(map[string]*hit)
	for _, user := range sortedKeys(byUser) {
		ss := byUser[user]
		for _, s := range ss {
			if !isBrokerToDRS(s) {
				continue
			}
			newIP, newDevice := newAddressOrDevice(ss, s)
			if !newIP && !newDevice {
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
			for _, p := range priorFor(in, []string{"device.rogue-registration"}, user, s.Time, to) {
				fs = append(fs, priorRecord("device registered", p))
			}
			if len(fs) == 0 {
				continue
			}
			k := user + " " + s.Time.UTC().Format(time.DateOnly)
			h := hits[k]
			if h == nil {
				h = &hit{user: user, first: s.Time}
				hits[k] = h
			}
			h.upn = firstNonEmptyString(h.upn, s.UPN)
			rec := signInRecord(s)
			var why []string
			if newIP {
				why = append(why, "address")
			}
			if newDevice {
				why = append(why, "device")
			}
			rec["notUsedBefore"] = strings.Join(why, ", ")
			h.signIns = append(h.signIns, rec)
			h.follows = append(h.follows, fs...)
		}
	}
	var out []tenant.Finding
	for _, k := range sortedKeys(hits) {
		h := hits[k]
		slices.SortStableFunc(h.follows, func(a, b map[string]string) int { return strings.Compare(a["time"], b["time"]) })
		h.follows = slices.CompactFunc(h.follows, func(a, b map[string]string) bool {
			return a["time"] == b["time"] && a["activity"] == b["activity"] && a["deviceObjectId"] == b["deviceObjectId"] && a["key"] == b["key"]
		})
		ev := map[string]any{
			"brokerSignIns":   h.signIns[:min(len(h.signIns), maxListed)],
			"followedBy":      h.follows[:min(len(h.follows), maxListed)],
			"followUpMinutes": int(follow.Minutes()),
			"brokerAppId":     appAuthBroker,
			"resourceId":      resDeviceRegistration,
		}
		putAny(ev, "userPrincipalName", h.upn)
		if !in.Snapshot.Available(tenant.SourceDirectoryAudits) {
			ev["notChecked"] = []string{string(tenant.SourceDirectoryAudits) + ": device records (earlier findings only)"}
		}
		out = append(out, tenant.Finding{
			Subject:    subjectForUser(in, h.user, h.upn),
			Evidence:   ev,
			Key:        findingKey(d.Rule().ID, h.user, h.first.UTC().Format(time.DateOnly)),
			ObservedAt: h.first,
		})
	}
	return out, nil
}

// newAddressOrDevice reports whether the user's earlier sign-ins in the
// window (those of ss before s, but the other broker sign-ins to the
// Device Registration Service) never came from s's address, and, when s
// names a device, never from that device. Only earlier ones: the attacker
// goes on using the phished session from the same address, and those
// later sign-ins must not make the address look familiar.
func newAddressOrDevice(ss []tenant.SignIn, s tenant.SignIn) (newIP, newDevice bool) {
	ip, dev := normIP(s.IP), lowerID(s.DeviceID)
	newIP, newDevice = ip != "", dev != ""
	for _, o := range ss {
		if isBrokerToDRS(o) || !o.Time.Before(s.Time) {
			continue
		}
		if ip != "" && normIP(o.IP) == ip {
			newIP = false
		}
		if dev != "" && lowerID(o.DeviceID) == dev {
			newDevice = false
		}
	}
	return newIP, newDevice
}
