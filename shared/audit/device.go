package audit

import (
	"cmp"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// DeviceRegistrationService is the display name of the first-party service
// that initiates the device records of a device registration or join
// (initiatedBy.app.displayName). It is Microsoft's, not attacker-chosen:
// the initiator is written by Entra ID.
const DeviceRegistrationService = "Device Registration Service"

// DeviceKind says which device record an event is.
type DeviceKind string

// Device record kinds.
const (
	DeviceAdded      DeviceKind = "add device"                     // "Add device"
	DeviceOwnerAdded DeviceKind = "add registered owner to device" // "Add registered owner to device"
	DeviceUserAdded  DeviceKind = "add registered users to device" // "Add registered users to device"
)

// DeviceEvent is an "Add device", "Add registered owner to device" or "Add
// registered users to device" record (category Device, service Core
// Directory, as Graph's auditActivityType list gives them). A registration
// by the Device Registration Service writes the three records with one
// correlationId: the device object as the target of type Device, and, on
// the owner and user records, the user as the target of type User. Targets
// are found by type, never by position. No modified property is read: the
// device's facts (trust type, management, compliance) come from /devices.
type DeviceEvent struct {
	Record tenant.AuditEvent
	Kind   DeviceKind
	// DeviceID is the device's directory object id (the target of type
	// Device), trimmed; DeviceName its display name (attacker-chosen).
	DeviceID, DeviceName string
	// UserID is the user the owner or user record adds (the target of type
	// User), trimmed; "" on "Add device", which names no user. UserName is
	// that target's UPN, else display name.
	UserID, UserName string
	// ByDRS reports whether the Device Registration Service initiated the
	// record (a user's own registration or join), not an admin or an app.
	ByDRS bool
}

func (DeviceEvent) isEvent() {}

// DeviceEvents decodes the device records among records, in order.
func DeviceEvents(records []tenant.AuditEvent) []DeviceEvent {
	return decodeAs[DeviceEvent](records, familyDevices)
}

// deviceDecoder gives nothing when the record names no device.
func deviceDecoder(kind DeviceKind) func(tenant.AuditEvent) []Event {
	return func(e tenant.AuditEvent) []Event {
		d, ok := firstTarget(e, "Device")
		if !ok || strings.TrimSpace(d.ID) == "" {
			return nil
		}
		ev := DeviceEvent{Record: e, Kind: kind, DeviceID: strings.TrimSpace(d.ID), DeviceName: d.DisplayName,
			ByDRS: e.Initiator.UserID == "" && strings.EqualFold(strings.TrimSpace(e.Initiator.DisplayName), DeviceRegistrationService)}
		if kind != DeviceAdded {
			if u, ok := firstTarget(e, "User"); ok && strings.TrimSpace(u.ID) != "" {
				ev.UserID, ev.UserName = strings.TrimSpace(u.ID), cmp.Or(u.UPN, u.DisplayName)
			}
		}
		return []Event{ev}
	}
}
