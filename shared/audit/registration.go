package audit

import (
	"cmp"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// SecurityInfoRegistration is a "User registered security info" or "User
// registered all required security info" record: a user enrolled an
// authentication method. Registrations come in bursts; each record is one
// event here.
type SecurityInfoRegistration struct {
	Record tenant.AuditEvent
	// UserID is the user registered: the first target of type User with an
	// id, else the initiating user (the user is normally both); trimmed,
	// never empty.
	UserID string
	// UserName is that target's or initiator's UPN, else display name; may
	// be empty.
	UserName string
}

func (SecurityInfoRegistration) isEvent() {}

// SecurityInfoRegistrations decodes the security-info registrations among
// records, in order.
func SecurityInfoRegistrations(records []tenant.AuditEvent) []SecurityInfoRegistration {
	return decodeAs[SecurityInfoRegistration](records, familyRegistrations)
}

// decodeRegistration gives nothing when the record names no user.
func decodeRegistration(e tenant.AuditEvent) []Event {
	r := SecurityInfoRegistration{Record: e}
	if t, ok := firstTarget(e, "User"); ok && strings.TrimSpace(t.ID) != "" {
		r.UserID, r.UserName = strings.TrimSpace(t.ID), cmp.Or(t.UPN, t.DisplayName)
	} else if id := strings.TrimSpace(e.Initiator.UserID); id != "" {
		r.UserID, r.UserName = id, cmp.Or(e.Initiator.UPN, e.Initiator.DisplayName)
	} else {
		return nil
	}
	return []Event{r}
}
