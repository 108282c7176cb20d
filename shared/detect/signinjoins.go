package detect

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tenantwatch/tenantwatch/shared/audit"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The joins of the device-code, broker and rogue-device rules (issue 12):
// a user's successful sign-ins, the device records naming the user, the
// MFA registrations, and the findings an earlier round recorded
// (Snapshot.Prior, the deployed app's cross-poll joins). Each rule accepts
// the earlier half of its chain as raw data (scan) or as a Prior finding
// of the named rule (serve).

// Microsoft first-party ids of the broker device-registration chain.
const (
	// appAuthBroker is the Microsoft Authentication Broker's app id.
	appAuthBroker = "29d9ed98-a469-4536-ade2-f981bc1d605e"
	// resDeviceRegistration is the Device Registration Service's app id
	// (the resource of the token a device registration needs).
	resDeviceRegistration = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
)

// isDeviceCode reports whether a sign-in used the device-code flow: beta's
// authenticationProtocol "deviceCode", or originalTransferMethod
// "deviceCodeFlow" (set on the later sign-ins of such a session too).
func isDeviceCode(s tenant.SignIn) bool {
	return strings.EqualFold(strings.TrimSpace(s.AuthProtocol), "deviceCode") ||
		strings.EqualFold(strings.TrimSpace(s.OriginalTransferMethod), "deviceCodeFlow")
}

// isBrokerToDRS reports whether a sign-in is the Microsoft Authentication
// Broker's to the Device Registration Service.
func isBrokerToDRS(s tenant.SignIn) bool {
	return strings.EqualFold(strings.TrimSpace(s.AppID), appAuthBroker) &&
		strings.EqualFold(strings.TrimSpace(s.ResourceID), resDeviceRegistration)
}

// signInUser returns the lower-case id a sign-in is grouped under: its
// user id, else the id of the user with its UPN, else its UPN.
func signInUser(in *Input, s tenant.SignIn) string {
	if id := lowerID(s.UserID); id != "" {
		return id
	}
	upn := lowerID(s.UPN)
	if u := in.index().usersByUPN[upn]; u != nil {
		return lowerID(u.ID)
	}
	return upn
}

// normIP returns the address in canonical form, or "" when it is none.
func normIP(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

// signInsByUser returns the successful sign-ins in the window by user
// (signInUser), ordered by time.
func signInsByUser(in *Input) map[string][]tenant.SignIn {
	out := make(map[string][]tenant.SignIn)
	for _, s := range in.Snapshot.SignIns {
		if !s.Succeeded() || !inWindow(in, s.Time) {
			continue
		}
		if u := signInUser(in, s); u != "" {
			out[u] = append(out[u], s)
		}
	}
	for _, ss := range out {
		slices.SortStableFunc(ss, func(a, b tenant.SignIn) int { return a.Time.Compare(b.Time) })
	}
	return out
}

// signInRecord describes a sign-in for an evidence list.
func signInRecord(s tenant.SignIn) map[string]string {
	m := map[string]string{"time": ts(s.Time)}
	putString(m, "id", s.ID)
	putString(m, "ip", normIP(s.IP))
	putString(m, "app", cmp.Or(s.AppDisplayName, s.AppID))
	putString(m, "appId", s.AppID)
	putString(m, "resource", cmp.Or(s.ResourceDisplayName, s.ResourceID))
	putString(m, "country", s.Country)
	putString(m, "deviceId", s.DeviceID)
	putString(m, "clientApp", s.ClientApp)
	putString(m, "authenticationProtocol", s.AuthProtocol)
	putString(m, "originalTransferMethod", s.OriginalTransferMethod)
	return m
}

// userDeviceEvent is a device record naming a user.
type userDeviceEvent struct {
	Time       time.Time
	Kind       audit.DeviceKind
	Activity   string
	DeviceID   string // directory object id
	DeviceName string
	ByDRS      bool
	Record     tenant.AuditEvent
}

// deviceEventsByUser returns the device records in the window by the
// lower-case id of the user they name: the owner and user records name the
// user; an "Add device" record is given to the users of the owner or user
// records with its correlation id or of the same device, else to the
// device's registered owners (/devices).
func deviceEventsByUser(in *Input) map[string][]userDeviceEvent {
	evs := audit.DeviceEvents(in.audits())
	byCorr := make(map[string][]string)
	byDevice := make(map[string][]string)
	for _, e := range evs {
		if e.UserID == "" {
			continue
		}
		if c := lowerID(e.Record.CorrelationID); c != "" {
			byCorr[c] = append(byCorr[c], lowerID(e.UserID))
		}
		byDevice[lowerID(e.DeviceID)] = append(byDevice[lowerID(e.DeviceID)], lowerID(e.UserID))
	}
	out := make(map[string][]userDeviceEvent)
	for _, e := range evs {
		users := []string{lowerID(e.UserID)}
		if e.UserID == "" {
			users = byCorr[lowerID(e.Record.CorrelationID)]
			if len(users) == 0 {
				users = byDevice[lowerID(e.DeviceID)]
			}
			if len(users) == 0 {
				if d := in.device(e.DeviceID); d != nil {
					for _, o := range d.OwnerIDs {
						users = append(users, lowerID(o))
					}
				}
			}
		}
		slices.Sort(users)
		for _, u := range slices.Compact(users) {
			out[u] = append(out[u], userDeviceEvent{Time: e.Record.Time, Kind: e.Kind, Activity: e.Record.Activity, DeviceID: e.DeviceID,
				DeviceName: e.DeviceName, ByDRS: e.ByDRS, Record: e.Record})
		}
	}
	return out
}

// device returns the device with directory object id id, or nil.
func (in *Input) device(id string) *tenant.Device {
	id = lowerID(id)
	if id == "" {
		return nil
	}
	for i := range in.Snapshot.Devices {
		if lowerID(in.Snapshot.Devices[i].ID) == id {
			return &in.Snapshot.Devices[i]
		}
	}
	return nil
}

// deviceByDeviceID returns the device that registered with deviceId id
// (sign-ins' deviceDetail.deviceId), or nil.
func (in *Input) deviceByDeviceID(id string) *tenant.Device {
	id = lowerID(id)
	if id == "" {
		return nil
	}
	for i := range in.Snapshot.Devices {
		if lowerID(in.Snapshot.Devices[i].DeviceID) == id {
			return &in.Snapshot.Devices[i]
		}
	}
	return nil
}

// within reports whether t lies in [from, to].
func withinClosed(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// priorFor returns the earlier findings of the named rules on the user
// userID (subject id) observed in [from, to].
func priorFor(in *Input, rules []string, userID string, from, to time.Time) []tenant.Finding {
	var out []tenant.Finding
	for _, p := range in.Snapshot.Prior {
		if slices.Contains(rules, p.Rule) && p.Subject.Type == tenant.SubjectUser && lowerID(p.Subject.ID) == userID &&
			withinClosed(p.ObservedAt, from, to) {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b tenant.Finding) int { return a.ObservedAt.Compare(b.ObservedAt) })
	return out
}

// priorRecord describes an earlier finding for an evidence list.
func priorRecord(what string, p tenant.Finding) map[string]string {
	return map[string]string{"what": what, "time": ts(p.ObservedAt), "rule": p.Rule, "key": p.Key, "source": "earlierFinding"}
}

// inTrusted reports whether ip lies in a trusted IP named location.
func inTrusted(trusted []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(normIP(ip))
	if err != nil {
		return false
	}
	return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
}

// unfamiliarAddress reports whether sign-in s of a user came from an
// address the user had not used: the user has earlier successful sign-ins
// in the window (a baseline), none from that address or its network
// (tenant.FailureNetwork: /24, /48), and the address is outside every
// trusted IP named location. Without a baseline nothing is unfamiliar.
func unfamiliarAddress(ss []tenant.SignIn, s tenant.SignIn, trusted []netip.Prefix) bool {
	ip := normIP(s.IP)
	if ip == "" || inTrusted(trusted, ip) {
		return false
	}
	net := tenant.FailureNetwork(ip)
	baseline := false
	for _, o := range ss {
		if !o.Time.Before(s.Time) {
			break
		}
		baseline = true
		if oip := normIP(o.IP); oip == ip || (net != "" && tenant.FailureNetwork(oip) == net) {
			return false
		}
	}
	return baseline
}

// newCountry reports whether sign-in s of a user came from a country the
// user had not signed in from earlier in the window (ss ordered by time).
func newCountry(ss []tenant.SignIn, s tenant.SignIn) bool {
	c := strings.ToUpper(strings.TrimSpace(s.Country))
	if c == "" {
		return false
	}
	for _, o := range ss {
		if !o.Time.Before(s.Time) {
			break
		}
		if strings.EqualFold(strings.TrimSpace(o.Country), c) {
			return false
		}
	}
	return true
}

// subjectForUser is the subject for a user id from sign-ins or records:
// the inventory's user when it holds them, else the id with a name.
func subjectForUser(in *Input, id, name string) tenant.Subject {
	if u := in.User(id); u != nil {
		return userSubject(u)
	}
	return tenant.Subject{Type: tenant.SubjectUser, ID: id, Name: cmp.Or(name, id)}
}
