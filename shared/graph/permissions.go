package graph

import (
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/permission"
	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// The permissions and licences the client's errors name come from the
// catalogue (shared/permission); this file only words them.

// needs returns the Microsoft Graph application permissions (joined with
// " and ": all are needed) and the licence that reading src needs, for an
// *Error; "", "" for a source that is not a Graph read.
func needs(src tenant.Source) (permissions, licence string) {
	es, l := permission.Needs(src)
	var names []string
	for _, e := range es {
		if e.Resource == permission.Graph {
			names = append(names, e.Name)
		}
	}
	if len(names) == 0 {
		return "", ""
	}
	return strings.Join(names, " and "), l.String()
}

// Permission returns the least application permission (and licence, if
// any) that reading src needs, for messages: for example
// "AuditLog.Read.All (and an Entra ID P1 or P2 licence)" for
// tenant.SourceSignIns. It returns "" for sources that are not Graph reads.
func (c *Client) Permission(src tenant.Source) string {
	p, l := needs(src)
	if l == "" {
		return p
	}
	return p + " (and " + l + ")"
}

// subscriptionPermission is the application permission Graph checks for a
// subscription on resource; for "" (an operation on an id) every
// candidate, with its resource: "User.Read.All (users) or Group.Read.All
// (groups)".
func subscriptionPermission(resource string) string {
	if strings.Trim(strings.TrimSpace(resource), "/") != "" {
		e, _ := permission.Subscription(resource)
		return e.Name
	}
	var alts []string
	for _, e := range permission.All() {
		for _, r := range e.Subscriptions {
			alts = append(alts, e.Name+" ("+r+")")
		}
	}
	return strings.Join(alts, " or ")
}
