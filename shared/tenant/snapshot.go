package tenant

import (
	"sort"
	"time"
)

// Source is one kind of data detection reads. A rule lists the sources it
// needs; when one is unavailable (not licensed, not permitted, not supplied)
// the rule is skipped with the source's reason.
type Source string

// Sources, one per Graph read (plus the local Azure ranges file).
const (
	SourceOrganization      Source = "organization"
	SourceSubscribedSkus    Source = "subscribedSkus"
	SourceUsers             Source = "users"
	SourceSignInActivity    Source = "signInActivity" // users[].signInActivity (Entra ID P1)
	SourceRegistrations     Source = "userRegistrationDetails"
	SourceServicePrincipals Source = "servicePrincipals"
	SourceApplications      Source = "applications"
	SourceResourceGrants    Source = "appRoleAssignedTo" // grants on the Graph and Exchange Online resource SPs
	SourceDirectoryAudits   Source = "directoryAudits"
	SourceSignIns           Source = "signIns"
	SourceCAPolicies        Source = "conditionalAccessPolicies"
	SourceNamedLocations    Source = "namedLocations"
	SourceAzureRanges       Source = "azureIpRanges" // the Service Tags file, not Graph
	// SourceExchangeAudit is the Audit.Exchange content of the Office 365
	// Management Activity API, not Graph.
	SourceExchangeAudit Source = "exchangeAudit"
	// SourceGroups is read by no rule: the deployed app subscribes to
	// groups (group-based licence changes), and doctor probes it.
	SourceGroups Source = "groups"

	// The sources of the 2023–2025 rules (issue 12).

	// SourceSignInsBeta is the beta sign-in log (GET
	// /beta/auditLogs/signIns): the sign-ins' authenticationProtocol and
	// originalTransferMethod, which v1.0 lacks. Unavailable when beta is
	// switched off (--beta=false), with that reason.
	SourceSignInsBeta Source = "signInsBeta"
	// SourceDevices is GET /devices with their registered owners.
	SourceDevices Source = "devices"
	// SourceDelegatedGrants is GET /oauth2PermissionGrants.
	SourceDelegatedGrants Source = "oauth2PermissionGrants"
	// SourceAuthorizationPolicy is GET /policies/authorizationPolicy.
	SourceAuthorizationPolicy Source = "authorizationPolicy"
	// SourceDomains is GET /domains and, for each federated domain, GET
	// /domains/{id}/federationConfiguration.
	SourceDomains Source = "domains"
	// SourceCAGroupMembers is the transitive user members of the groups
	// Conditional Access policies include or exclude (GET
	// /groups/{id}/transitiveMembers/microsoft.graph.user).
	SourceCAGroupMembers Source = "conditionalAccessGroupMembers"
	// SourceFederatedCredentials is the federated identity credentials of
	// the applications that can read mail (GET
	// /applications/{id}/federatedIdentityCredentials).
	SourceFederatedCredentials Source = "federatedIdentityCredentials"
)

// Sources returns every source, in the order declared above.
func Sources() []Source {
	return []Source{
		SourceOrganization, SourceSubscribedSkus, SourceUsers, SourceSignInActivity, SourceRegistrations,
		SourceServicePrincipals, SourceApplications, SourceResourceGrants, SourceDirectoryAudits, SourceSignIns,
		SourceCAPolicies, SourceNamedLocations, SourceAzureRanges, SourceGroups, SourceExchangeAudit,
		SourceSignInsBeta, SourceDevices, SourceDelegatedGrants, SourceAuthorizationPolicy, SourceDomains,
		SourceCAGroupMembers, SourceFederatedCredentials,
	}
}

// Snapshot is one collection of tenant data: what a scan read, in domain
// types. Since bounds the audit and sign-in window; events older than Since
// are not in it. Unavailable lists sources that could not be read, with a
// one-line reason; the corresponding fields are empty.
type Snapshot struct {
	Organization      Organization
	CollectedAt       time.Time
	Since             time.Time
	SKUs              []SKU
	Users             []User
	Registrations     []Registration // users not MFA registered only: no rule reads the others
	ServicePrincipals []ServicePrincipal
	Applications      []Application
	ResourceGrants    []AppRoleAssignment // appRoleAssignedTo on the Graph and Exchange Online SPs
	Audits            []AuditEvent
	SignIns           []SignIn // successful sign-ins only: no rule reads failures, and dropping them bounds memory
	Policies          []CAPolicy
	NamedLocations    []NamedLocation
	// The fields below are read since issue 12 (the 2023–2025 rules).
	Devices             []Device             // SourceDevices
	DelegatedGrants     []DelegatedGrant     // SourceDelegatedGrants: grants with a mail scope only
	AuthorizationPolicy *AuthorizationPolicy // SourceAuthorizationPolicy; nil when not read
	Domains             []Domain             // SourceDomains (federationConfiguration of the federated ones)
	// GroupMembers are the transitive user members, by lower-case group
	// id, of the groups Conditional Access policies include or exclude
	// (SourceCAGroupMembers).
	GroupMembers map[string][]string
	// SignInFailures aggregates the window's failed sign-ins with a spray
	// error code (SourceSignIns): SignIns keeps successes only.
	SignInFailures *SignInFailures
	// Changes are the differences an incremental round found against its
	// stored baselines (the deployed app's delta rounds). A one-shot scan
	// has none.
	Changes []Change
	// AppRefs name service principals and applications the snapshot does
	// not hold in ServicePrincipals or Applications, so that a rule can
	// resolve an app id, object id or display name an audit record gives
	// (the deployed app's partial rounds). Full objects win over refs. A
	// one-shot scan has none: it reads every object.
	AppRefs []AppRef
	// Prior are findings an earlier round recorded that rules may join
	// (the deployed app's Exchange rounds: what its directory rounds
	// reported on the apps that read mail — a credential added, a mail
	// permission granted — which the round's own snapshot does not hold).
	// The one-shot scan has none: its snapshot holds the sources themselves.
	Prior []Finding
	// ExchangeAdmin and MailAccess are the Audit.Exchange records of the
	// window (SourceExchangeAudit), in no guaranteed order: the API serves
	// content blobs out of time order.
	ExchangeAdmin []ExchangeAdminEvent
	MailAccess    []MailAccess
	// AuditingOff is the Management Activity API's own answer when the
	// tenant is not enabled for auditing (its error message); empty
	// otherwise. The source is then unavailable too.
	AuditingOff string
	Unavailable map[Source]string
	// Partial lists sources that were read, but not all of what was asked
	// (a window the source does not keep, content it refused to decode),
	// with a one-line reason. Their rules run on what was read.
	Partial map[Source]string
}

// MarkPartial records that src was read only in part.
func (s *Snapshot) MarkPartial(src Source, reason string) {
	if s.Partial == nil {
		s.Partial = make(map[Source]string)
	}
	if prev := s.Partial[src]; prev != "" {
		reason = prev + "; " + reason
	}
	s.Partial[src] = reason
}

// MarkUnavailable records that src could not be read.
func (s *Snapshot) MarkUnavailable(src Source, reason string) {
	if s.Unavailable == nil {
		s.Unavailable = make(map[Source]string)
	}
	s.Unavailable[src] = reason
}

// Available reports whether src was read.
func (s *Snapshot) Available(src Source) bool {
	_, missing := s.Unavailable[src]
	return !missing
}

// MissingSources returns the sources in need that are unavailable, sorted.
func (s *Snapshot) MissingSources(need []Source) []Source {
	var out []Source
	for _, src := range need {
		if !s.Available(src) {
			out = append(out, src)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
