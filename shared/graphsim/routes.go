package graphsim

import "strings"

// route describes one simulated list endpoint. The route table (routes) is
// the single place that says which paths exist, what each returns and how
// it pages; adding an endpoint means adding a row and, if it serves new
// data, a collection in the store.
type route struct {
	path    string   // normalised path after /v1.0, used as the Stats key
	segs    []string // lower-cased segments; "{id}" matches any one segment
	source  string   // name in Options.Deny that answers this route with 403
	entity  string   // OData type name, for error messages
	context string   // $metadata fragment; "{id}" is replaced

	props           []string // selectable properties, as Graph spells them
	defaultSelect   []string // properties returned without $select; nil = all stored
	notInCollection []string // selectable only on a single object: 501 here
	omitAbsent      []string // selected but absent: omitted instead of null
	alwaysID        bool     // directory objects always carry id

	page   pageRule
	filter *filterSpec // nil: $filter is refused

	// beta: the route is under /beta (path starts with "/beta"); the
	// others are under /v1.0.
	beta bool
	// single: the path addresses one object (no paging, no value array).
	single bool
	// expand lists the navigation properties $expand accepts.
	expand map[string]*expandRule // lower-case name

	// coll returns the collection for this request (id is the {id}
	// segment) as of version v, or false when the addressed object does
	// not exist. The caller holds st.mu (read).
	coll func(st *store, id string, v uint64) (*collection, bool)
	// byID, when set, finds one object by id in the current state: a
	// filter on id alone is then answered by lookups instead of a scan of
	// the collection (100,000 generated users). The caller holds st.mu.
	byID func(st *store, id string) (Object, bool)
}

// pageRule is an endpoint's paging behaviour.
type pageRule struct {
	def, max   int
	rejectOver bool // $top above max: 400 (true) or pages of max (false)
	// topRefusable: Options.RejectRegistrationTop makes $top here answer
	// 400, as a service that enforces the documented query options would.
	topRefusable bool
	// capWith caps the page size when one of these properties (lower-case)
	// is selected.
	capWith map[string]int
}

func (r *route) match(segs []string) (id string, ok bool) {
	if len(segs) != len(r.segs) {
		return "", false
	}
	for i, s := range r.segs {
		if s == "{id}" {
			if segs[i] == "" {
				return "", false
			}
			id = segs[i]
			continue
		}
		if !strings.EqualFold(s, segs[i]) && !castAlias(s, segs[i]) {
			return "", false
		}
	}
	return id, true
}

// castAlias reports whether seg is route segment want, a type cast
// "microsoft.graph.x", written with OData's namespace alias "graph.x": how
// the generated SDKs send casts (msgraph-sdk-go's
// …/transitiveMembers/graph.user), which Graph accepts.
func castAlias(want, seg string) bool {
	rest, ok := strings.CutPrefix(want, "microsoft.graph.")
	return ok && strings.EqualFold(seg, "graph."+rest)
}

func (r *route) canonicalProp(p string) (string, bool) {
	for _, q := range r.props {
		if strings.EqualFold(q, p) {
			return q, true
		}
	}
	return "", false
}

func named(name string) func(*store, string, uint64) (*collection, bool) {
	return func(st *store, _ string, v uint64) (*collection, bool) { return st.collection(name, v), true }
}

// routes returns the route table. It is built per server (no package
// state).
func routes() []*route {
	list := func(def, max int, reject bool) pageRule {
		return pageRule{def: def, max: max, rejectOver: reject}
	}
	rs := []*route{
		{
			path: "/organization", source: SourceOrganization, entity: "organization", context: "organization",
			props: organizationProps(), alwaysID: true, page: list(100, 999, true),
			coll: named("organization"),
		},
		{
			path: "/subscribedSkus", source: SourceSubscribedSkus, entity: "subscribedSku", context: "subscribedSkus",
			props: subscribedSkuProps(), page: list(100, 999, true),
			coll: named("subscribedSkus"),
		},
		{
			path: "/users", source: SourceUsers, entity: "user", context: "users",
			props: userProps(), defaultSelect: userDefaultProps(), notInCollection: userSingleOnlyProps(),
			omitAbsent: []string{"signInActivity"}, alwaysID: true,
			page: pageRule{def: 100, max: 999, rejectOver: true, capWith: map[string]int{"signinactivity": 500}},
			// Only the object id, with eq or in: enough to re-read the users
			// a delta round or notification named (with signInActivity,
			// which delta does not track). Graph supports far more on
			// /users; the simulator refuses the rest with Graph's error.
			filter: newFilterSpec("user", filterField{"id", fieldStringIn}),
			coll:   named("users"),
			byID:   func(st *store, id string) (Object, bool) { return st.kinds[KindUser].lookup(id) },
		},
		{
			// Listed so that a caller can check Group.Read.All (the app
			// reads groups only through groups/delta).
			path: "/groups", source: SourceGroups, entity: "group", context: "groups",
			props: groupProps(), alwaysID: true, page: list(100, 999, true),
			coll: named(string(KindGroup)),
		},
		{
			path: "/reports/authenticationMethods/userRegistrationDetails", source: SourceUserRegistrationDetails,
			entity: "userRegistrationDetails", context: "reports/authenticationMethods/userRegistrationDetails",
			props: registrationProps(), page: pageRule{def: 100, max: 999, topRefusable: true},
			filter: newFilterSpec("userRegistrationDetails",
				filterField{"isMfaRegistered", fieldBool}, filterField{"isMfaCapable", fieldBool},
				filterField{"isAdmin", fieldBool}, filterField{"isSsprRegistered", fieldBool},
				filterField{"userPrincipalName", fieldString}, filterField{"userType", fieldString},
				filterField{"id", fieldString}),
			coll: named("userRegistrationDetails"),
		},
		{
			path: "/servicePrincipals", source: SourceServicePrincipals, entity: "servicePrincipal", context: "servicePrincipals",
			props: servicePrincipalProps(), alwaysID: true, page: list(100, 999, true),
			// appId and id, with eq or in (Graph documents both for
			// servicePrincipal): how the app finds the Microsoft Graph and
			// Exchange Online resource service principals.
			filter: newFilterSpec("servicePrincipal", filterField{"appId", fieldStringIn}, filterField{"id", fieldStringIn}),
			coll:   named("servicePrincipals"),
		},
		{
			path: "/applications", source: SourceApplications, entity: "application", context: "applications",
			props: applicationProps(), alwaysID: true, page: list(100, 999, true),
			coll: named("applications"),
		},
		{
			path: "/servicePrincipals/{id}/appRoleAssignedTo", source: SourceAppRoleAssignedTo, entity: "appRoleAssignment",
			context: "servicePrincipals('{id}')/appRoleAssignedTo",
			props:   appRoleAssignmentProps(), alwaysID: true, page: list(100, 999, true),
			coll: func(st *store, id string, v uint64) (*collection, bool) { return st.grantsOn(id, v) },
		},
		{
			path: "/auditLogs/directoryAudits", source: SourceDirectoryAudits, entity: "directoryAudit", context: "auditLogs/directoryAudits",
			props: directoryAuditProps(), page: list(1000, 1000, false),
			filter: newFilterSpec("directoryAudit",
				filterField{"activityDateTime", fieldDateTime}, filterField{"activityDisplayName", fieldString},
				filterField{"loggedByService", fieldString}, filterField{"category", fieldString},
				filterField{"result", fieldString}, filterField{"correlationId", fieldString},
				filterField{"id", fieldString}, filterField{"operationType", fieldString},
				filterField{"initiatedBy/user/id", fieldString}, filterField{"initiatedBy/user/userPrincipalName", fieldString},
				filterField{"initiatedBy/app/appId", fieldString}),
			coll: named("directoryAudits"),
		},
		{
			path: "/auditLogs/signIns", source: SourceSignIns, entity: "signIn", context: "auditLogs/signIns",
			props: signInProps(), defaultSelect: signInProps(), page: list(1000, 1000, false),
			filter: newFilterSpec("signIn",
				filterField{"createdDateTime", fieldDateTime}, filterField{"userId", fieldString},
				filterField{"userPrincipalName", fieldString}, filterField{"appId", fieldString},
				filterField{"appDisplayName", fieldString}, filterField{"ipAddress", fieldString},
				filterField{"id", fieldString}, filterField{"correlationId", fieldString},
				filterField{"status/errorCode", fieldInt}),
			coll: named("signIns"),
		},
		{
			path: "/identity/conditionalAccess/policies", source: SourceConditionalAccess, entity: "conditionalAccessPolicy",
			context: "conditionalAccess/policies", props: conditionalAccessPolicyProps(), page: list(100, 999, true),
			coll: named(collConditionalAccessPolicies),
		},
		{
			path: "/identity/conditionalAccess/namedLocations", source: SourceConditionalAccess, entity: "namedLocation",
			context: "conditionalAccess/namedLocations", props: namedLocationProps(), page: list(100, 999, true),
			coll: named("namedLocations"),
		},
	}
	rs = append(rs, identityRoutes()...)
	for _, r := range rs {
		for _, s := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(r.path, "/beta"), "/"), "/") {
			if s != "{id}" {
				s = strings.ToLower(s)
			}
			r.segs = append(r.segs, s)
		}
	}
	return rs
}

// Property lists of the simulated entity types (Graph v1.0 reference
// pages). $select of anything else answers 400 as Graph does.
func userDefaultProps() []string {
	return []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail",
		"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
}

func userSingleOnlyProps() []string {
	return []string{"aboutMe", "birthday", "hireDate", "interests", "mySite",
		"pastProjects", "preferredName", "responsibilities", "schools", "skills", "mailboxSettings"}
}

func userProps() []string {
	return []string{"aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans",
		"authorizationInfo", "birthday", "businessPhones", "city", "companyName", "consentProvidedForMinor",
		"country", "createdDateTime", "creationType", "customSecurityAttributes", "deletedDateTime",
		"department", "displayName", "employeeHireDate", "employeeId", "employeeLeaveDateTime",
		"employeeOrgData", "employeeType", "externalUserState", "externalUserStateChangeDateTime",
		"faxNumber", "givenName", "hireDate", "id", "identities", "imAddresses", "interests",
		"isManagementRestricted", "isResourceAccount", "jobTitle", "lastPasswordChangeDateTime",
		"legalAgeGroupClassification", "licenseAssignmentStates", "mail", "mailboxSettings",
		"mailNickname", "mobilePhone", "mySite", "officeLocation", "onPremisesDistinguishedName",
		"onPremisesDomainName", "onPremisesExtensionAttributes", "onPremisesImmutableId",
		"onPremisesLastSyncDateTime", "onPremisesProvisioningErrors", "onPremisesSamAccountName",
		"onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "onPremisesUserPrincipalName",
		"otherMails", "passwordPolicies", "passwordProfile", "pastProjects", "postalCode",
		"preferredDataLocation", "preferredLanguage", "preferredName", "provisionedPlans",
		"proxyAddresses", "responsibilities", "schools", "securityIdentifier",
		"serviceProvisioningErrors", "showInAddressList", "signInActivity",
		"signInSessionsValidFromDateTime", "skills", "state", "streetAddress", "surname",
		"usageLocation", "userPrincipalName", "userType"}
}

func registrationProps() []string {
	return []string{"id", "isAdmin", "isMfaCapable", "isMfaRegistered", "isPasswordlessCapable",
		"isSsprCapable", "isSsprEnabled", "isSsprRegistered", "isSystemPreferredAuthenticationMethodEnabled",
		"lastUpdatedDateTime", "methodsRegistered", "systemPreferredAuthenticationMethods",
		"userDisplayName", "userPreferredMethodForSecondaryAuthentication", "userPrincipalName", "userType"}
}

func servicePrincipalProps() []string {
	return []string{"accountEnabled", "addIns", "alternativeNames", "appDescription",
		"appDisplayName", "appId", "applicationTemplateId", "appOwnerOrganizationId",
		"appRoleAssignmentRequired", "appRoles", "customSecurityAttributes", "deletedDateTime",
		"description", "disabledByMicrosoftStatus", "displayName", "homepage", "id", "info",
		"keyCredentials", "loginUrl", "logoutUrl", "notes", "notificationEmailAddresses",
		"oauth2PermissionScopes", "passwordCredentials", "preferredSingleSignOnMode",
		"preferredTokenSigningKeyThumbprint", "replyUrls", "resourceSpecificApplicationPermissions",
		"samlSingleSignOnSettings", "servicePrincipalNames", "servicePrincipalType", "signInAudience",
		"tags", "tokenEncryptionKeyId", "verifiedPublisher"}
}

func applicationProps() []string {
	return []string{"addIns", "api", "appId", "applicationTemplateId", "appRoles",
		"certification", "createdDateTime", "defaultRedirectUri", "deletedDateTime", "description",
		"disabledByMicrosoftStatus", "displayName", "groupMembershipClaims", "id", "identifierUris",
		"info", "isDeviceOnlyAuthSupported", "isFallbackPublicClient", "keyCredentials", "logo",
		"nativeAuthenticationApisEnabled", "notes", "oauth2RequirePostResponse", "optionalClaims",
		"parentalControlSettings", "passwordCredentials", "publicClient", "publisherDomain",
		"requestSignatureVerification", "requiredResourceAccess", "samlMetadataUrl",
		"serviceManagementReference", "servicePrincipalLockConfiguration", "signInAudience", "spa",
		"tags", "tokenEncryptionKeyId", "uniqueName", "verifiedPublisher", "web"}
}

// groupProps are group properties the simulator can return (groups are
// served by groups/delta only). Properties Graph returns only for a single
// group (allowExternalSenders, autoSubscribeNewMembers, …) are left out.
func groupProps() []string {
	return []string{"assignedLabels", "assignedLicenses", "classification", "createdDateTime",
		"deletedDateTime", "description", "displayName", "expirationDateTime", "groupTypes",
		"hasMembersWithLicenseErrors", "id", "isAssignableToRole", "licenseProcessingState", "mail",
		"mailEnabled", "mailNickname", "membershipRule", "membershipRuleProcessingState",
		"onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName",
		"onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
		"onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage", "proxyAddresses",
		"renewedDateTime", "securityEnabled", "securityIdentifier", "serviceProvisioningErrors",
		"theme", "uniqueName", "visibility"}
}

func appRoleAssignmentProps() []string {
	return []string{"appRoleId", "createdDateTime", "deletedDateTime", "id",
		"principalDisplayName", "principalId", "principalType", "resourceDisplayName", "resourceId"}
}

func directoryAuditProps() []string {
	return []string{"activityDateTime", "activityDisplayName", "additionalDetails",
		"category", "correlationId", "id", "initiatedBy", "loggedByService", "operationType", "result",
		"resultReason", "targetResources"}
}

func signInProps() []string {
	return []string{"appDisplayName", "appId", "appliedConditionalAccessPolicies", "clientAppUsed",
		"conditionalAccessStatus", "correlationId", "createdDateTime", "deviceDetail", "id", "ipAddress",
		"isInteractive", "location", "resourceDisplayName", "resourceId", "riskDetail", "riskEventTypes",
		"riskEventTypes_v2", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "status",
		"userDisplayName", "userId", "userPrincipalName"}
}

func subscribedSkuProps() []string {
	return []string{"accountId", "accountName", "appliesTo", "capabilityStatus",
		"consumedUnits", "id", "prepaidUnits", "servicePlans", "skuId", "skuPartNumber", "subscriptionIds"}
}

func organizationProps() []string {
	return []string{"assignedPlans", "businessPhones", "city", "country", "countryLetterCode",
		"createdDateTime", "defaultUsageLocation", "deletedDateTime", "directorySizeQuota", "displayName",
		"id", "isMultipleDataLocationsForServicesEnabled", "marketingNotificationEmails",
		"onPremisesLastSyncDateTime", "onPremisesSyncEnabled", "partnerTenantType", "postalCode",
		"preferredLanguage", "privacyProfile", "provisionedPlans", "securityComplianceNotificationMails",
		"securityComplianceNotificationPhones", "state", "street", "technicalNotificationMails",
		"tenantType", "verifiedDomains"}
}

func conditionalAccessPolicyProps() []string {
	return []string{"conditions", "createdDateTime", "displayName", "grantControls",
		"id", "modifiedDateTime", "sessionControls", "state", "templateId"}
}

// namedLocation's own properties plus those of its two derived types
// (Graph wants a type cast to select them; the simulator accepts them
// directly).
func namedLocationProps() []string {
	return []string{"createdDateTime", "displayName", "id", "modifiedDateTime",
		"ipRanges", "isTrusted", "countriesAndRegions", "countryLookupMethod",
		"includeUnknownCountriesAndRegions"}
}
