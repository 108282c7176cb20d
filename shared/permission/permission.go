// Package permission is the catalogue of the application permissions
// tenantwatch needs, and the one list every consumer reads: shared/graph
// names a read's permission and licence in its errors, shared/doctor checks
// each permission, and shared/deploy's tests hold infra/ (what the
// deployment grants) and the README's permission table to it.
//
// The catalogue has one Entry per permission: the resource application
// that defines it (Microsoft Graph, the Office 365 Management APIs …), its
// name (the app role's value), the tenant sources whose reads need it and
// the change-notification resources Graph checks it for. Needs gives the
// other view, per source: every permission its read needs, in catalogue
// order, and the licence the tenant needs beyond them.
//
// The rules a permission gates are not listed here: each rule lists the
// sources it needs (shared/detect's registry), so the consumers that may
// import shared/detect (doctor, deploy's README test) derive them from an
// entry's Sources. The package imports only shared/tenant and the standard
// library: no SDK.
package permission

import (
	"slices"
	"strings"

	"github.com/tenantwatch/tenantwatch/shared/tenant"
)

// Resource is the resource application that defines a permission: its
// service principal in the tenant holds the app roles that are granted.
type Resource struct {
	Name  string // as Entra ID shows it, e.g. "Microsoft Graph"
	AppID string // the resource application's appId (the same in every tenant)
}

// The resource applications whose permissions tenantwatch asks for.
var (
	// Graph is Microsoft Graph: every read tenantwatch makes today.
	Graph = Resource{Name: "Microsoft Graph", AppID: "00000003-0000-0000-c000-000000000000"}
	// OfficeManagement is the Office 365 Management APIs application (the
	// Management Activity API's ActivityFeed.Read).
	OfficeManagement = Resource{Name: "Office 365 Management APIs", AppID: "c5393580-f805-4401-95e8-94b7a6ef2fc2"}
)

// Licence is what a tenant must have for a source beyond the permission.
// The zero value is none.
type Licence int

// Licences.
const (
	NoLicence Licence = iota
	// EntraP1 is Entra ID P1 (or P2, which includes it): Conditional
	// Access.
	EntraP1
	// EntraP1OrP2 is Entra ID P1 or P2: sign-in logs, signInActivity,
	// registration details.
	EntraP1OrP2
)

// String names the licence as messages do ("an Entra ID P1 or P2
// licence"); it is "" for NoLicence.
func (l Licence) String() string {
	switch l {
	case EntraP1:
		return "an Entra ID P1 licence"
	case EntraP1OrP2:
		return "an Entra ID P1 or P2 licence"
	}
	return ""
}

// Entry is one application permission.
type Entry struct {
	Resource Resource
	// Name is the permission (the app role's value), e.g.
	// "AuditLog.Read.All".
	Name string
	// Sources are the tenant sources whose reads need it (some need
	// another permission too: see Needs).
	Sources []tenant.Source
	// Subscriptions are the change-notification resources ("users") for
	// which Graph checks it when the app subscribes.
	Subscriptions []string
}

// catalogue is every permission tenantwatch needs, all read-only. Its
// order is the order in which Needs lists a source's permissions (and in
// which messages join them: "User.Read.All and AuditLog.Read.All").
//
// Sources: Microsoft Graph's permission tables of each read (List users,
// List signIns, List directoryAudits …; see /work/shared/docs/graph.md
// §3): List directoryAudits requires AuditLog.Read.All and
// Directory.Read.All (since 2021, against licence-check failures), List
// signIns no longer does; signInActivity on users needs User.Read.All and
// AuditLog.Read.All.
var catalogue = []Entry{
	{Resource: Graph, Name: "Organization.Read.All",
		Sources: []tenant.Source{tenant.SourceOrganization, tenant.SourceSubscribedSkus}},
	{Resource: Graph, Name: "User.Read.All",
		Sources:       []tenant.Source{tenant.SourceUsers, tenant.SourceSignInActivity},
		Subscriptions: []string{"users"}},
	{Resource: Graph, Name: "AuditLog.Read.All",
		Sources: []tenant.Source{tenant.SourceSignInActivity, tenant.SourceRegistrations, tenant.SourceDirectoryAudits, tenant.SourceSignIns, tenant.SourceSignInsBeta}},
	// List oauth2PermissionGrants: Directory.Read.All is the least
	// privileged application permission (DelegatedPermissionGrant.* only
	// write).
	{Resource: Graph, Name: "Directory.Read.All",
		Sources: []tenant.Source{tenant.SourceDirectoryAudits, tenant.SourceDelegatedGrants}},
	{Resource: Graph, Name: "Application.Read.All",
		Sources: []tenant.Source{tenant.SourceServicePrincipals, tenant.SourceApplications, tenant.SourceResourceGrants, tenant.SourceFederatedCredentials}},
	{Resource: Graph, Name: "Policy.Read.All",
		Sources: []tenant.Source{tenant.SourceCAPolicies, tenant.SourceNamedLocations, tenant.SourceAuthorizationPolicy}},
	// List group transitive members' least privileged permission is
	// GroupMember.Read.All, but the app holds Group.Read.All, which covers
	// it, for its groups subscription: granting GroupMember.Read.All too
	// would add nothing, and List groups (doctor's Group.Read.All probe)
	// accepts it, so a missing Group.Read.All would go unseen.
	{Resource: Graph, Name: "Group.Read.All",
		Sources:       []tenant.Source{tenant.SourceGroups, tenant.SourceCAGroupMembers},
		Subscriptions: []string{"groups"}},
	// The reads of the 2023–2025 rules (issue 12), each the least
	// privileged application permission its List page names: List devices
	// (and their registeredOwners), List domains and List
	// internalDomainFederations.
	{Resource: Graph, Name: "Device.Read.All",
		Sources: []tenant.Source{tenant.SourceDevices}},
	{Resource: Graph, Name: "Domain.Read.All",
		Sources: []tenant.Source{tenant.SourceDomains}},

	// The Management Activity API's reference: every operation needs
	// ActivityFeed.Read (ActivityFeed.ReadDlp only adds DLP content).
	{Resource: OfficeManagement, Name: "ActivityFeed.Read",
		Sources: []tenant.Source{tenant.SourceExchangeAudit}},
}

// licences are the sources a tenant needs a licence for.
var licences = map[tenant.Source]Licence{
	tenant.SourceSignInActivity: EntraP1OrP2,
	tenant.SourceRegistrations:  EntraP1OrP2,
	tenant.SourceSignIns:        EntraP1OrP2,
	tenant.SourceSignInsBeta:    EntraP1OrP2,
	tenant.SourceCAPolicies:     EntraP1,
	tenant.SourceNamedLocations: EntraP1,
}

// All returns the catalogue, in catalogue order. The result is the
// caller's to change.
func All() []Entry {
	out := make([]Entry, len(catalogue))
	for i, e := range catalogue {
		out[i] = e.clone()
	}
	return out
}

func (e Entry) clone() Entry {
	e.Sources = slices.Clone(e.Sources)
	e.Subscriptions = slices.Clone(e.Subscriptions)
	return e
}

// Required returns the names of every permission of r, sorted: what a
// deployment grants on r's service principal.
func Required(r Resource) []string {
	var out []string
	for _, e := range catalogue {
		if e.Resource == r {
			out = append(out, e.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Lookup returns the entry of r's permission name, and false when the
// catalogue has none.
func Lookup(r Resource, name string) (Entry, bool) {
	for _, e := range catalogue {
		if e.Resource == r && e.Name == name {
			return e.clone(), true
		}
	}
	return Entry{}, false
}

// Needs returns what reading src needs: every permission listed (all of
// them), in catalogue order, and the licence. A source no read of an
// application permission gates (tenant.SourceAzureRanges, a file) needs
// none.
func Needs(src tenant.Source) ([]Entry, Licence) {
	var out []Entry
	for _, e := range catalogue {
		if slices.Contains(e.Sources, src) {
			out = append(out, e.clone())
		}
	}
	return out, licences[src]
}

// Sources returns every source a permission gates, in catalogue order,
// once each.
func Sources() []tenant.Source {
	var out []tenant.Source
	for _, e := range catalogue {
		for _, s := range e.Sources {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// Subscription returns the permission Graph checks for a change-notification
// subscription on resource: "users" or "users/{id}" (any case, with or
// without slashes around it) is User.Read.All.
func Subscription(resource string) (Entry, bool) {
	r := strings.ToLower(strings.Trim(strings.TrimSpace(resource), "/"))
	for _, e := range catalogue {
		for _, s := range e.Subscriptions {
			if r == s || strings.HasPrefix(r, s+"/") {
				return e.clone(), true
			}
		}
	}
	return Entry{}, false
}

// Names returns the names of es, in order.
func Names(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}
