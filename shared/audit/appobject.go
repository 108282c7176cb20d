package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// AppObject is the application or service principal an app-management
// record names: its target.
type AppObject struct {
	ID          string // directory object id, trimmed; never empty
	DisplayName string // as the record gives it, trimmed; may be empty
	// Type is the target's type: tenant.SubjectServicePrincipal or
	// tenant.SubjectApplication, or "" when the target has none.
	Type tenant.SubjectType
	// Implied is the type the activity implies ("Add service principal
	// credentials": a service principal; "Update application…": an
	// application), for a target without a type that nothing else names.
	Implied tenant.SubjectType
}

// appTarget returns the first target of type ServicePrincipal or
// Application when it has an id, else the first target with an id and no
// type.
func appTarget(e tenant.AuditEvent) (tenant.Target, bool) {
	if t, ok := firstTarget(e, "ServicePrincipal", "Application"); ok && strings.TrimSpace(t.ID) != "" {
		return t, true
	}
	for _, t := range e.Targets {
		if strings.TrimSpace(t.ID) != "" && strings.TrimSpace(t.Type) == "" {
			return t, true
		}
	}
	return tenant.Target{}, false
}

// appObjectOf describes target t of an activity that implies type implied.
func appObjectOf(t tenant.Target, implied tenant.SubjectType) AppObject {
	o := AppObject{ID: strings.TrimSpace(t.ID), DisplayName: strings.TrimSpace(t.DisplayName), Implied: implied}
	switch {
	case typeIs(t, "ServicePrincipal"):
		o.Type = tenant.SubjectServicePrincipal
	case typeIs(t, "Application"):
		o.Type = tenant.SubjectApplication
	}
	return o
}
