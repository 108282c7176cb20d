package graphsim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// This file holds the reads of the 2023–2025 techniques (tenantwatch issue
// 12): beta sign-ins, devices with their registered owners, domains and
// their federation, the authorization policy, delegated permission grants,
// the transitive user members of a group and the federated identity
// credentials of an application. Each property list is the resource page
// of microsoft-graph-docs-contrib (api-reference/v1.0/resources/<type>.md;
// beta/resources/signin.md for beta sign-ins).

// Internal members: data the store keeps on an object that Graph serves
// through another path (a navigation property, a relationship). Their
// names start with internalPrefix; no answer ever carries them (project,
// projectDelta), and changing only them changes no tracked property of a
// delta round.
const (
	internalPrefix = "graphsim:"
	// MemberIDs on a group: the object ids of its direct members (users
	// or groups); /groups/{id}/transitiveMembers expands them.
	MemberIDs = internalPrefix + "members"
	// RegisteredOwnerIDs on a device: the object ids of its registered
	// owners (users); $expand=registeredOwners resolves them.
	RegisteredOwnerIDs = internalPrefix + "registeredOwners"
	// FederationConfigs on a domain: its internalDomainFederation objects
	// (/domains/{id}/federationConfiguration).
	FederationConfigs = internalPrefix + "federationConfiguration"
	// FederatedCredentials on an application: its
	// federatedIdentityCredential objects
	// (/applications/{id}/federatedIdentityCredentials).
	FederatedCredentials = internalPrefix + "federatedIdentityCredentials"
)

func isInternal(key string) bool { return strings.HasPrefix(key, internalPrefix) }

// stripInternal returns o without internal members (o itself when it has
// none).
func stripInternal(o Object) Object {
	n := 0
	for _, m := range o {
		if isInternal(m.Key) {
			n++
		}
	}
	if n == 0 {
		return o
	}
	out := make(Object, 0, len(o)-n)
	for _, m := range o {
		if !isInternal(m.Key) {
			out = append(out, m)
		}
	}
	return out
}

// Object kinds of the 2023–2025 reads.
const (
	// KindDevice is /devices (RegisteredOwnerIDs holds the owners).
	KindDevice ObjectKind = "devices"
	// KindDomain is /domains, keyed by the domain name
	// (FederationConfigs holds a federated domain's configuration).
	KindDomain ObjectKind = "domains"
	// KindDelegatedGrant is /oauth2PermissionGrants.
	KindDelegatedGrant ObjectKind = "oauth2PermissionGrants"
)

// Collection names of the 2023–2025 reads that are not an ObjectKind.
const (
	collAuthorizationPolicy = "authorizationPolicy"
)

// Deny sources of the 2023–2025 reads (Options.Deny).
const (
	// SourceSignInsBeta is /beta/auditLogs/signIns (Deny "signIns" denies
	// it too: it is the same log).
	SourceSignInsBeta = "signInsBeta"
	SourceDevices     = "devices"
	SourceDomains     = "domains" // Deny "domains" denies their federationConfiguration too
	// SourceDomainFederation is /domains/{id}/federationConfiguration.
	SourceDomainFederation     = "domainFederation"
	SourceAuthorizationPolicy  = "authorizationPolicy"
	SourceDelegatedGrants      = "oauth2PermissionGrants"
	SourceGroupMembers         = "groupMembers" // /groups/{id}/transitiveMembers
	SourceFederatedCredentials = "federatedIdentityCredentials"
)

// Permissions of the 2023–2025 reads (Microsoft's permission tables for
// the application permission type: least privileged first, then the
// higher ones that also allow the call).
var (
	readDevices = []string{"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	// List domains.
	readDomains = []string{"Domain.Read.All", "Directory.Read.All", "Domain.ReadWrite.All", "Directory.ReadWrite.All"}
	// List internalDomainFederations (domain-list-federationconfiguration.md:
	// Domain.Read.All, higher Domain.ReadWrite.All; internalDomainFederation
	// pages also name Domain-InternalFederation.Read.All as the least
	// privileged): Directory.Read.All is not among them.
	readDomainFederation = []string{"Domain.Read.All", "Domain-InternalFederation.Read.All",
		"Domain-InternalFederation.ReadWrite.All", "Domain.ReadWrite.All"}
	// Get authorizationPolicy.
	readAuthorizationPolicy = []string{"Policy.Read.All", "Policy.ReadWrite.Authorization"}
	// List oauth2PermissionGrants: Directory.Read.All is the least
	// privileged read (DelegatedPermissionGrant.ReadWrite.All is a write
	// permission that also allows it).
	readDelegatedGrants = []string{"Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"}
	// List group transitive members.
	readGroupMembers = []string{"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All",
		"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}
	// List federatedIdentityCredentials.
	readFederatedCredentials = []string{"Application.Read.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All",
		"Directory.Read.All", "Directory.ReadWrite.All"}
)

// betaSignInProps are the beta signIn resource's properties
// (api-reference/beta/resources/signin.md): the v1.0 ones except
// riskEventTypes, plus the beta-only ones tenantwatch reads
// (authenticationProtocol, originalTransferMethod) and the rest of the
// page's list.
func betaSignInProps() []string {
	return []string{"appDisplayName", "appId", "appliedConditionalAccessPolicies", "appliedEventListeners",
		"appTokenProtectionStatus", "authenticationAppDeviceDetails", "authenticationAppPolicyEvaluationDetails",
		"authenticationContextClassReferences", "authenticationDetails", "authenticationMethodsUsed",
		"authenticationProcessingDetails", "authenticationProtocol", "authenticationRequirement",
		"authenticationRequirementPolicies", "autonomousSystemNumber", "azureResourceId", "clientAppUsed",
		"clientCredentialType", "conditionalAccessAudiences", "conditionalAccessStatus", "correlationId",
		"createdDateTime", "crossTenantAccessType", "deviceDetail", "federatedCredentialId", "flaggedForReview",
		"globalSecureAccessIpAddress", "homeTenantId", "homeTenantName", "id", "incomingTokenType", "ipAddress",
		"ipAddressFromResourceProvider", "isInteractive", "isTenantRestricted", "isThroughGlobalSecureAccess",
		"location", "managedServiceIdentity", "mfaDetail", "networkLocationDetails", "originalRequestId",
		"originalTransferMethod", "privateLinkDetails", "processingTimeInMilliseconds", "resourceDisplayName",
		"resourceId", "resourceServicePrincipalId", "resourceTenantId", "riskDetail", "riskEventTypes_v2",
		"riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "servicePrincipalCredentialKeyId",
		"servicePrincipalCredentialThumbprint", "servicePrincipalId", "servicePrincipalName", "sessionId",
		"sessionLifetimePolicies", "signInEventTypes", "signInIdentifier", "signInIdentifierType",
		"signInTokenProtectionStatus", "status", "tokenIssuerName", "tokenIssuerType", "uniqueTokenIdentifier",
		"userAgent", "userDisplayName", "userId", "userPrincipalName", "userType"}
}

// completeBetaSignIn adds the beta-only properties a sign-in always
// carries in the beta log (defaults: a password sign-in to Entra ID with
// no special protocol). The v1.0 route does not serve them.
func completeBetaSignIn(s Object, tenantID string) Object {
	interactive, _ := pick(s, "isInteractive", true).(bool)
	evt := "interactiveUser"
	if !interactive {
		evt = "nonInteractiveUser"
	}
	add := func(k string, v any) {
		if _, ok := s.Get(k); !ok {
			s = append(s, Member{k, v})
		}
	}
	add("authenticationProtocol", "none")
	add("originalTransferMethod", "none")
	add("signInEventTypes", []any{evt})
	add("incomingTokenType", "none")
	add("authenticationRequirement", "singleFactorAuthentication")
	add("authenticationMethodsUsed", []any{})
	add("authenticationDetails", []any{})
	add("authenticationProcessingDetails", []any{})
	add("networkLocationDetails", []any{})
	add("clientCredentialType", "none")
	add("crossTenantAccessType", "none")
	add("tokenIssuerType", "AzureAD")
	add("tokenIssuerName", "")
	add("homeTenantId", tenantID)
	add("resourceTenantId", tenantID)
	add("userType", "member")
	add("userAgent", "")
	add("isTenantRestricted", false)
	add("isThroughGlobalSecureAccess", false)
	add("flaggedForReview", false)
	add("signInIdentifier", s.Str("userPrincipalName"))
	add("signInIdentifierType", "userPrincipalName")
	add("servicePrincipalId", "")
	add("servicePrincipalName", "")
	add("federatedCredentialId", "")
	add("sessionId", "")
	add("originalRequestId", "")
	add("processingTimeInMilliseconds", 0)
	return s
}

// deviceProps are the device resource's properties
// (api-reference/v1.0/resources/device.md).
func deviceProps() []string {
	return []string{"accountEnabled", "alternativeSecurityIds", "approximateLastSignInDateTime",
		"complianceExpirationDateTime", "deletedDateTime", "deviceCategory", "deviceId", "deviceMetadata",
		"deviceOwnership", "deviceVersion", "displayName", "enrollmentProfileName", "enrollmentType",
		"extensionAttributes", "id", "isCompliant", "isManaged", "isManagementRestricted", "isRooted",
		"managementType", "manufacturer", "mdmAppId", "model", "onPremisesLastSyncDateTime",
		"onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "operatingSystem", "operatingSystemVersion",
		"physicalIds", "profileType", "registrationDateTime", "systemLabels", "trustType"}
}

// completeDevice fills what a device object always carries: a registered
// personal device unless the data says otherwise.
func completeDevice(d Object) (Object, error) {
	if d.Str("id") == "" || d.Str("deviceId") == "" {
		return nil, fmt.Errorf("device %q needs an id and a deviceId", d.Str("id"))
	}
	out := Object{}
	for _, k := range deviceProps() {
		var def any
		switch k {
		case "accountEnabled":
			def = true
		case "isCompliant", "isManaged", "isRooted":
			def = false
		case "alternativeSecurityIds", "physicalIds", "systemLabels":
			def = []any{}
		case "extensionAttributes":
			ext := Object{}
			for i := 1; i <= 15; i++ {
				ext = append(ext, Member{fmt.Sprintf("extensionAttribute%d", i), nil})
			}
			def = ext
		case "profileType":
			def = "RegisteredDevice"
		case "deviceOwnership":
			def = "Personal"
		}
		out = append(out, Member{k, pick(d, k, def)})
	}
	owners := pick(d, RegisteredOwnerIDs, []any{})
	out = append(out, Member{RegisteredOwnerIDs, owners})
	return out, nil
}

// domainProps are the domain resource's properties
// (api-reference/v1.0/resources/domain.md).
func domainProps() []string {
	return []string{"authenticationType", "availabilityStatus", "id", "isAdminManaged", "isDefault",
		"isInitial", "isRoot", "isVerified", "passwordNotificationWindowInDays",
		"passwordValidityPeriodInDays", "supportedServices", "state"}
}

func completeDomain(d Object) (Object, error) {
	if d.Str("id") == "" {
		return nil, fmt.Errorf("a domain needs its name as id")
	}
	out := Object{}
	for _, k := range domainProps() {
		var def any
		switch k {
		case "authenticationType":
			def = "Managed"
		case "isAdminManaged", "isRoot", "isVerified":
			def = true
		case "isDefault", "isInitial":
			def = false
		case "passwordNotificationWindowInDays":
			def = json14
		case "passwordValidityPeriodInDays":
			def = json2147483647
		case "supportedServices":
			def = []any{"Email", "OfficeCommunicationsOnline"}
		}
		out = append(out, Member{k, pick(d, k, def)})
	}
	var fed []any
	if v, ok := d.Get(FederationConfigs); ok {
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("domain %s: %s is not a list", d.Str("id"), FederationConfigs)
		}
		for _, f := range arr {
			fo, ok := f.(Object)
			if !ok {
				return nil, fmt.Errorf("domain %s: a federation configuration is not an object", d.Str("id"))
			}
			fed = append(fed, completeFederation(fo))
		}
	}
	if fed == nil {
		fed = []any{}
	}
	out = append(out, Member{FederationConfigs, fed})
	return out, nil
}

// federationProps are internalDomainFederation's properties
// (api-reference/v1.0/resources/internaldomainfederation.md).
func federationProps() []string {
	return []string{"activeSignInUri", "displayName", "federatedIdpMfaBehavior", "id",
		"isSignedAuthenticationRequestRequired", "issuerUri", "metadataExchangeUri", "nextSigningCertificate",
		"passiveSignInUri", "passwordResetUri", "preferredAuthenticationProtocol", "promptLoginBehavior",
		"signingCertificate", "signingCertificateUpdateStatus", "signOutUri"}
}

func completeFederation(f Object) Object {
	out := Object{{"@odata.type", "#microsoft.graph.internalDomainFederation"}}
	for _, k := range federationProps() {
		var def any
		switch k {
		case "federatedIdpMfaBehavior":
			def = "acceptIfMfaDoneByFederatedIdp"
		case "preferredAuthenticationProtocol":
			def = "wsFed"
		case "promptLoginBehavior":
			def = "nativeSupport"
		case "isSignedAuthenticationRequestRequired":
			def = false
		}
		out = append(out, Member{k, pick(f, k, def)})
	}
	return out
}

// authorizationPolicyProps are authorizationPolicy's properties
// (api-reference/v1.0/resources/authorizationpolicy.md).
func authorizationPolicyProps() []string {
	return []string{"allowedToSignUpEmailBasedSubscriptions", "allowedToUseSSPR",
		"allowEmailVerifiedUsersToJoinOrganization", "allowInvitesFrom", "allowUserConsentForRiskyApps",
		"blockMsolPowerShell", "defaultUserRolePermissions", "description", "displayName", "guestUserRoleId", "id"}
}

// delegatedGrantProps are oAuth2PermissionGrant's properties
// (api-reference/v1.0/resources/oauth2permissiongrant.md).
func delegatedGrantProps() []string {
	return []string{"clientId", "consentType", "id", "principalId", "resourceId", "scope"}
}

func completeDelegatedGrant(g Object) (Object, error) {
	if g.Str("id") == "" || g.Str("clientId") == "" || g.Str("resourceId") == "" {
		return nil, fmt.Errorf("delegated grant %q needs an id, a clientId and a resourceId", g.Str("id"))
	}
	ct := pick(g, "consentType", "AllPrincipals")
	return Object{
		{"clientId", g.Str("clientId")},
		{"consentType", ct},
		{"id", g.Str("id")},
		{"principalId", pick(g, "principalId", nil)},
		{"resourceId", g.Str("resourceId")},
		{"scope", pick(g, "scope", "")},
	}, nil
}

// federatedCredentialProps are federatedIdentityCredential's properties
// (api-reference/v1.0/resources/federatedidentitycredential.md).
func federatedCredentialProps() []string {
	return []string{"audiences", "description", "id", "issuer", "name", "subject"}
}

// Numbers of the defaults above.
const (
	json14         json.Number = "14"
	json2147483647 json.Number = "2147483647"
)

// expandRule is a navigation property $expand accepts on a route.
type expandRule struct {
	name   string   // as Graph spells it
	props  []string // selectable inside $expand=name($select=…)
	defSel []string // returned without a nested $select
	// max caps the expanded objects: Graph returns at most 20 objects of
	// an expanded directory-object relationship, without a nextLink
	// (concepts/query-parameters.md, "expand parameter").
	max int
	// resolve returns the related objects of o, each with its
	// @odata.type. The caller holds st.mu (read).
	resolve func(st *store, o Object) []Object
}

// identityRoutes are the routes of the 2023–2025 reads. Page sizes: see
// README.md ("Endpoints").
func identityRoutes() []*route {
	list := func(def, max int) pageRule { return pageRule{def: def, max: max, rejectOver: true} }
	return []*route{
		{
			// The beta log: the same sign-ins as v1.0, with the beta
			// properties (authenticationProtocol, originalTransferMethod, …).
			path: "/beta/auditLogs/signIns", beta: true, source: SourceSignInsBeta, entity: "signIn", context: "auditLogs/signIns",
			props: betaSignInProps(), defaultSelect: betaSignInProps(), page: pageRule{def: 1000, max: 1000},
			filter: signInFilter(), coll: named(LogSignIns),
		},
		{
			path: "/devices", source: SourceDevices, entity: "device", context: "devices",
			props: deviceProps(), defaultSelect: deviceProps(), alwaysID: true, page: list(100, 999),
			coll: named(string(KindDevice)),
			expand: map[string]*expandRule{"registeredowners": {
				name: "registeredOwners", props: userProps(), defSel: userDefaultProps(), max: 20,
				resolve: func(st *store, o Object) []Object {
					return related(st, o, RegisteredOwnerIDs, "#microsoft.graph.user", KindUser)
				},
			}},
		},
		{
			path: "/domains", source: SourceDomains, entity: "domain", context: "domains",
			props: domainProps(), defaultSelect: domainProps(), alwaysID: true, page: list(100, 999),
			coll: named(string(KindDomain)),
		},
		{
			path: "/domains/{id}/federationConfiguration", source: SourceDomainFederation, entity: "internalDomainFederation",
			context: "domains('{id}')/federationConfiguration", props: federationProps(), defaultSelect: federationProps(),
			alwaysID: true, page: list(100, 999),
			coll: func(st *store, id string, _ uint64) (*collection, bool) {
				return nested(st, KindDomain, id, FederationConfigs)
			},
		},
		{
			path: "/policies/authorizationPolicy", source: SourceAuthorizationPolicy, entity: "authorizationPolicy",
			context: "policies/authorizationPolicy", props: authorizationPolicyProps(), alwaysID: true, single: true,
			page: list(1, 1), coll: named(collAuthorizationPolicy),
		},
		{
			path: "/oauth2PermissionGrants", source: SourceDelegatedGrants, entity: "oAuth2PermissionGrant",
			context: "oauth2PermissionGrants", props: delegatedGrantProps(), defaultSelect: delegatedGrantProps(),
			alwaysID: true, page: list(100, 999),
			filter: newFilterSpec("oAuth2PermissionGrant", filterField{"clientId", fieldString},
				filterField{"consentType", fieldString}, filterField{"principalId", fieldString},
				filterField{"resourceId", fieldString}, filterField{"id", fieldString}),
			coll: named(string(KindDelegatedGrant)),
		},
		{
			path: "/groups/{id}/transitiveMembers/microsoft.graph.user", source: SourceGroupMembers, entity: "user",
			context: "users", props: userProps(), defaultSelect: userDefaultProps(),
			notInCollection: userSingleOnlyProps(), alwaysID: true, page: list(100, 999),
			coll: func(st *store, id string, _ uint64) (*collection, bool) { return transitiveUsers(st, id) },
		},
		{
			path: "/applications/{id}/federatedIdentityCredentials", source: SourceFederatedCredentials,
			entity: "federatedIdentityCredential", context: "applications('{id}')/federatedIdentityCredentials",
			props: federatedCredentialProps(), defaultSelect: federatedCredentialProps(), alwaysID: true, page: list(100, 999),
			coll: func(st *store, id string, _ uint64) (*collection, bool) {
				return nested(st, KindApplication, id, FederatedCredentials)
			},
		},
	}
}

// signInFilter is what $filter accepts on the sign-in logs.
func signInFilter() *filterSpec {
	return newFilterSpec("signIn",
		filterField{"createdDateTime", fieldDateTime}, filterField{"userId", fieldString},
		filterField{"userPrincipalName", fieldString}, filterField{"appId", fieldString},
		filterField{"appDisplayName", fieldString}, filterField{"ipAddress", fieldString},
		filterField{"id", fieldString}, filterField{"correlationId", fieldString},
		filterField{"status/errorCode", fieldInt})
}

// related returns the objects of kind whose ids o's internal member key
// lists, each with typ as its @odata.type (missing ones are left out).
// The caller holds st.mu.
func related(st *store, o Object, key, typ string, kind ObjectKind) []Object {
	v, _ := o.Get(key)
	ids, _ := v.([]any)
	var out []Object
	for _, x := range ids {
		id, _ := x.(string)
		if r, ok := st.kinds[kind].lookup(id); ok {
			out = append(out, append(Object{{"@odata.type", typ}}, r...))
		}
	}
	return out
}

// nested serves the list an object of kind keeps in its internal member
// key, as the object is now; false when the object does not exist. The
// caller holds st.mu.
func nested(st *store, kind ObjectKind, id, key string) (*collection, bool) {
	o, ok := st.kinds[kind].lookup(id)
	if !ok {
		return nil, false
	}
	v, _ := o.Get(key)
	arr, _ := v.([]any)
	var objs []Object
	for _, x := range arr {
		if xo, ok := x.(Object); ok {
			objs = append(objs, xo)
		}
	}
	return &collection{sources: []source{static(objs)}}, true
}

// transitiveUsers serves the users among a group's members, through
// nested groups, each once (cycles end). The caller holds st.mu.
func transitiveUsers(st *store, id string) (*collection, bool) {
	if _, ok := st.kinds[KindGroup].lookup(id); !ok {
		return nil, false
	}
	seenGroups := map[string]bool{strings.ToLower(id): true}
	seenUsers := map[string]bool{}
	queue := []string{id}
	var users []Object
	for len(queue) > 0 {
		g, _ := st.kinds[KindGroup].lookup(queue[0])
		queue = queue[1:]
		v, _ := g.Get(MemberIDs)
		arr, _ := v.([]any)
		for _, x := range arr {
			mid, _ := x.(string)
			lid := strings.ToLower(mid)
			if u, ok := st.kinds[KindUser].lookup(mid); ok {
				if !seenUsers[lid] {
					seenUsers[lid] = true
					users = append(users, append(Object{{"@odata.type", "#microsoft.graph.user"}}, u...))
				}
				continue
			}
			if _, ok := st.kinds[KindGroup].lookup(mid); ok && !seenGroups[lid] {
				seenGroups[lid] = true
				queue = append(queue, mid)
			}
		}
	}
	return &collection{sources: []source{static(users)}}, true
}

// parseExpand reads $expand: comma-separated navigation properties, each
// optionally with a nested ($select=…). It returns Graph's message for
// anything else.
func parseExpand(v string, rt *route) ([]expansion, string) {
	var out []expansion
	for _, item := range splitTop(v) {
		item = strings.TrimSpace(item)
		name, opts := item, ""
		if i := strings.IndexByte(item, '('); i >= 0 {
			if !strings.HasSuffix(item, ")") {
				return nil, fmt.Sprintf("Parsing OData Select and Expand failed: ')' or ',' expected in '%s'.", v)
			}
			name, opts = strings.TrimSpace(item[:i]), item[i+1:len(item)-1]
		}
		rule := rt.expand[strings.ToLower(name)]
		if rule == nil {
			return nil, fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, rt.entity)
		}
		ex := expansion{rule: rule}
		if opts != "" {
			k, val, ok := strings.Cut(opts, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "$select") {
				return nil, fmt.Sprintf("graphsim: not simulated: $expand option %q (only $select)", opts)
			}
			ex.sel = []string{}
			for _, p := range strings.Split(val, ",") {
				p = strings.TrimSpace(p)
				found := ""
				for _, q := range rule.props {
					if strings.EqualFold(p, q) {
						found = q
					}
				}
				if found == "" {
					return nil, fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.directoryObject'.", p)
				}
				ex.sel = append(ex.sel, found)
			}
		}
		out = append(out, ex)
	}
	return out, ""
}

// splitTop splits s at the commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// objects returns the related objects of o for this expansion, projected
// and capped. The caller holds st.mu.
func (ex expansion) objects(st *store, o Object) []any {
	rel := ex.rule.resolve(st, o)
	if len(rel) > ex.rule.max {
		rel = rel[:ex.rule.max]
	}
	want := ex.sel
	if want == nil {
		want = ex.rule.defSel
	}
	out := make([]any, 0, len(rel))
	for _, r := range rel {
		p := Object{}
		for _, m := range r {
			if m.Key == "@odata.type" || m.Key == "id" || validProp(want, m.Key) {
				p = append(p, m)
			}
		}
		out = append(out, p)
	}
	return out
}

// expandText is the canonical $expand, for skip-token fingerprints.
func (q query) expandText() string {
	var parts []string
	for _, ex := range q.expand {
		parts = append(parts, ex.rule.name+"("+strings.Join(ex.sel, ",")+")")
	}
	return strings.Join(parts, ",")
}

// contextSelect is what @odata.context names after the entity set: the
// selected properties and the expanded ones.
func (q query) contextSelect() (string, bool) {
	if q.sel == nil && q.expand == nil {
		return "", false
	}
	parts := append([]string(nil), q.sel...)
	for _, ex := range q.expand {
		if ex.sel != nil {
			parts = append(parts, ex.rule.name+"("+strings.Join(ex.sel, ",")+")")
		} else {
			parts = append(parts, ex.rule.name+"()")
		}
	}
	return strings.Join(parts, ","), true
}

// betaOnlySignInProps are the beta signIn properties v1.0 lacks: a
// scenario may set them on a sign-in (authenticationProtocol "deviceCode",
// …); the v1.0 route never serves them.
func betaOnlySignInProps() []string {
	var out []string
	for _, p := range betaSignInProps() {
		if !validProp(signInProps(), p) {
			out = append(out, p)
		}
	}
	return out
}

// completeCAPolicy adds the condition Graph returns for every policy
// that the scenario may leave out: authenticationFlows (null when the
// policy has no authentication-flow condition).
func completeCAPolicy(p Object) Object {
	c, ok := p.Get("conditions")
	co, isObj := c.(Object)
	if !ok || !isObj {
		return p
	}
	if _, ok := co.Get("authenticationFlows"); !ok {
		co = append(co, Member{"authenticationFlows", nil})
		p.Set("conditions", co)
	}
	return p
}
