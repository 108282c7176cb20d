package audit

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// AppAdded is an "Add application" or "Add service principal" record: a
// new app registration, or an app's service principal created in the
// tenant. The target is the new object; its app id is in AppId
// (applications) or AppPrincipalId (service principals), as a one-element
// JSON array ("[\"<app id>\"]").
type AppAdded struct {
	Record tenant.AuditEvent
	Object AppObject
	AppID  string // "" when the record carries neither property
}

func (AppAdded) isEvent() {}

// AppsAdded decodes the app creations among records, in order.
func AppsAdded(records []tenant.AuditEvent) []AppAdded {
	return decodeAs[AppAdded](records, familyAppsAdded)
}

// appAddedDecoder decodes a creation of an object of type implied. A
// record without an app target gives nothing.
func appAddedDecoder(implied tenant.SubjectType) func(tenant.AuditEvent) []Event {
	return func(e tenant.AuditEvent) []Event {
		t, ok := appTarget(e)
		if !ok {
			return nil
		}
		a := AppAdded{Record: e, Object: appObjectOf(t, implied)}
		for _, name := range []string{"AppId", "AppPrincipalId"} {
			if p, ok := findProp(t.Modified, name); ok {
				if v := valueString(p.New); v != "" {
					a.AppID = strings.ToLower(v)
					break
				}
			}
		}
		return []Event{a}
	}
}
