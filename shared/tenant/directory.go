package tenant

import (
	"strings"
	"time"
)

// Organization is the tenant itself (GET /organization).
type Organization struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// SKU is a licence the tenant has bought (GET /subscribedSkus).
type SKU struct {
	SkuID         string        `json:"skuId"`
	SkuPartNumber string        `json:"skuPartNumber"`
	ServicePlans  []ServicePlan `json:"servicePlans"`
}

// ServicePlan is one service inside a SKU.
type ServicePlan struct {
	ID   string `json:"servicePlanId"`
	Name string `json:"servicePlanName"`
}

// License is one licence assigned to a user (assignedLicenses[]).
type License struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"` // service plan ids
}

// User is an Entra ID user with the properties detection compares.
type User struct {
	ID             string    `json:"id"`
	UPN            string    `json:"userPrincipalName"`
	DisplayName    string    `json:"displayName"`
	UserType       string    `json:"userType"` // "Member" or "Guest"
	AccountEnabled bool      `json:"accountEnabled"`
	Created        time.Time `json:"createdDateTime"`
	// LastSuccessfulSignIn is signInActivity.lastSuccessfulSignInDateTime;
	// zero when absent, null or the "never" date 0001-01-01. Meaningful only
	// when the snapshot has SourceSignInActivity, and a scan's snapshot
	// reads it only for the users a rule judges by it (collect.Snapshot).
	LastSuccessfulSignIn time.Time `json:"lastSuccessfulSignIn"`
	Licenses             []License `json:"assignedLicenses"`
	// SignInActivityRead reports that signInActivity was read for this
	// user, so that a zero LastSuccessfulSignIn means "never" rather than
	// "not read" (issue 12: posture.dormant-excluded-from-mfa and
	// signin.password-spray judge users beyond those the MFA rules ask
	// for, and judge a zero time only when this is set).
	SignInActivityRead bool `json:"signInActivityRead,omitempty"`
}

// Name returns the user principal name, or the display name, or the id.
func (u User) Name() string { return firstNonEmpty(u.UPN, u.DisplayName, u.ID) }

// SignInActivity is a user's signInActivity, reduced to what detection
// reads (GET /users?$select=id,signInActivity).
type SignInActivity struct {
	UserID string `json:"id"`
	// LastSuccessfulSignIn is lastSuccessfulSignInDateTime; zero when the
	// user never signed in (no signInActivity, null, or 0001-01-01).
	LastSuccessfulSignIn time.Time `json:"lastSuccessfulSignIn"`
}

// Registration is a user's authentication-method registration state
// (GET /reports/authenticationMethods/userRegistrationDetails).
type Registration struct {
	UserID          string   `json:"id"`
	UPN             string   `json:"userPrincipalName"`
	DisplayName     string   `json:"userDisplayName"`
	UserType        string   `json:"userType"` // "member" or "guest"
	IsAdmin         bool     `json:"isAdmin"`
	IsMfaRegistered bool     `json:"isMfaRegistered"`
	IsMfaCapable    bool     `json:"isMfaCapable"`
	Methods         []string `json:"methodsRegistered"`
}

// CredentialKind says which collection a credential came from.
type CredentialKind string

// Credential kinds.
const (
	KeyCredential      CredentialKind = "key"      // keyCredentials: certificates
	PasswordCredential CredentialKind = "password" // passwordCredentials: client secrets
)

// Credential is a key (certificate) or password (secret) credential on a
// service principal or application. The secret itself is never returned.
type Credential struct {
	Kind        CredentialKind `json:"kind"`
	KeyID       string         `json:"keyId"`
	Type        string         `json:"type"`  // keyCredentials: "AsymmetricX509Cert", "X509CertAndPassword"; passwords: ""
	Usage       string         `json:"usage"` // "Verify", "Sign"
	DisplayName string         `json:"displayName"`
	Start       time.Time      `json:"startDateTime"`
	End         time.Time      `json:"endDateTime"`
}

// AppRole is an application permission a resource offers.
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
}

// ServicePrincipal is an enterprise application instance in the tenant.
type ServicePrincipal struct {
	ID                     string       `json:"id"`
	AppID                  string       `json:"appId"`
	DisplayName            string       `json:"displayName"`
	AppOwnerOrganizationID string       `json:"appOwnerOrganizationId"`
	ServicePrincipalType   string       `json:"servicePrincipalType"` // "Application", "ManagedIdentity", "Legacy", "SocialIdp"
	AccountEnabled         bool         `json:"accountEnabled"`
	Credentials            []Credential `json:"credentials"` // keyCredentials then passwordCredentials
	ReplyURLs              []string     `json:"replyUrls"`
	AppRoles               []AppRole    `json:"appRoles"`
}

// Application is an app registration (GET /applications).
type Application struct {
	ID           string       `json:"id"`
	AppID        string       `json:"appId"`
	DisplayName  string       `json:"displayName"`
	Credentials  []Credential `json:"credentials"`  // keyCredentials then passwordCredentials
	RedirectURIs []string     `json:"redirectUris"` // web, spa and publicClient redirect URIs
	// FederatedCredentials are its federated identity credentials, read
	// (SourceFederatedCredentials) for the applications whose service
	// principal can read mail only; nil for the others.
	FederatedCredentials []FederatedCredential `json:"federatedIdentityCredentials,omitempty"`
}

// The resource applications whose application permissions (app roles)
// can read mail: the rules resolve grants on their service principals, and
// every collection reads those service principals and the grants on them
// (graph.md §6). The ids are Microsoft's, the same in every tenant, lower
// case.
const (
	GraphAppID          = "00000003-0000-0000-c000-000000000000" // Microsoft Graph
	ExchangeOnlineAppID = "00000002-0000-0ff1-ce00-000000000000" // Office 365 Exchange Online
)

// MailResources returns the app ids of the mail resource applications:
// GraphAppID and ExchangeOnlineAppID.
func MailResources() []string { return []string{GraphAppID, ExchangeOnlineAppID} }

// IsMailResource reports whether appID is one of MailResources, in any
// case.
func IsMailResource(appID string) bool {
	return strings.EqualFold(appID, GraphAppID) || strings.EqualFold(appID, ExchangeOnlineAppID)
}

// AppRef names a service principal or an application without its state:
// the identity facts a rule needs to put the right object id on a finding
// when an audit record points to the object by object id, app id or display
// name and the run did not read the object itself. The deployed app's
// partial rounds fill Snapshot.AppRefs from the stored baselines and one
// bulk read; a rule never judges an AppRef (it has no credentials, reply
// URLs or roles to judge).
type AppRef struct {
	Type                   SubjectType `json:"type"` // SubjectServicePrincipal or SubjectApplication
	ID                     string      `json:"id"`
	AppID                  string      `json:"appId"`
	DisplayName            string      `json:"displayName"`
	AppOwnerOrganizationID string      `json:"appOwnerOrganizationId,omitempty"` // service principals only
	ServicePrincipalType   string      `json:"servicePrincipalType,omitempty"`   // service principals only
}

// AppRoleAssignment is an application permission granted to a principal on a
// resource service principal (GET /servicePrincipals/{id}/appRoleAssignedTo).
type AppRoleAssignment struct {
	ID                   string    `json:"id"`
	AppRoleID            string    `json:"appRoleId"`
	PrincipalID          string    `json:"principalId"`
	PrincipalType        string    `json:"principalType"` // "ServicePrincipal", "User", "Group"
	PrincipalDisplayName string    `json:"principalDisplayName"`
	ResourceID           string    `json:"resourceId"`
	ResourceDisplayName  string    `json:"resourceDisplayName"`
	Created              time.Time `json:"createdDateTime"`
}

// CAPolicy is a Conditional Access policy, reduced to what detection reads.
type CAPolicy struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	State              string   `json:"state"` // "enabled", "disabled", "enabledForReportingButNotEnforced"
	IncludeUserActions []string `json:"includeUserActions"`
	// The properties below are read since issue 12 (the posture rules):
	// conditions.users, conditions.applications,
	// conditions.authenticationFlows and grantControls. Ids are as Graph
	// returns them; "All", "None" and "GuestsOrExternalUsers" are literals
	// in IncludeUsers/ExcludeUsers.
	IncludeUsers        []string `json:"includeUsers,omitempty"`
	ExcludeUsers        []string `json:"excludeUsers,omitempty"`
	IncludeGroups       []string `json:"includeGroups,omitempty"`
	ExcludeGroups       []string `json:"excludeGroups,omitempty"`
	IncludeRoles        []string `json:"includeRoles,omitempty"` // directory role template ids
	ExcludeRoles        []string `json:"excludeRoles,omitempty"`
	IncludeApplications []string `json:"includeApplications,omitempty"` // "All", "Office365", app ids
	// TransferMethods is conditions.authenticationFlows.transferMethods: a
	// comma-separated flag set ("deviceCodeFlow,authenticationTransfer"),
	// "" when the policy has no authentication-flows condition.
	TransferMethods string   `json:"transferMethods,omitempty"`
	GrantOperator   string   `json:"grantOperator,omitempty"`   // grantControls.operator: "AND", "OR"
	BuiltInControls []string `json:"builtInControls,omitempty"` // grantControls.builtInControls: "block", "mfa", "compliantDevice", …
	// AuthStrengthID is grantControls.authenticationStrength.id: a policy
	// that requires an authentication strength requires MFA (every
	// built-in strength is multifactor). "" when none.
	AuthStrengthID string `json:"authenticationStrengthId,omitempty"`
}

// NamedLocation is a Conditional Access named location. IP locations carry
// CIDR ranges; country locations carry none.
type NamedLocation struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Kind        string   `json:"kind"` // "ip" or "country"
	Trusted     bool     `json:"isTrusted"`
	CIDRs       []string `json:"cidrs"`
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
