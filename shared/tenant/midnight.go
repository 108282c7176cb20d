package tenant

import "time"

// This file holds the directory data the 2023–2025 rules read (issue 12:
// device-code phishing, rogue devices, consent and cross-tenant apps,
// federation backdoors). Each type is reduced to what detection reads;
// every string in it is attacker-controlled unless it is an id Graph
// assigns.

// Device is a device object (GET /devices, Device.Read.All).
type Device struct {
	ID                     string    `json:"id"`       // directory object id
	DeviceID               string    `json:"deviceId"` // the id the device registered with (sign-ins' deviceDetail.deviceId)
	DisplayName            string    `json:"displayName"`
	OperatingSystem        string    `json:"operatingSystem"`
	OperatingSystemVersion string    `json:"operatingSystemVersion"`
	TrustType              string    `json:"trustType"` // "Workplace" (registered), "AzureAd" (joined), "ServerAd" (hybrid joined)
	IsManaged              bool      `json:"isManaged"`
	IsCompliant            bool      `json:"isCompliant"`
	AccountEnabled         bool      `json:"accountEnabled"`
	Registered             time.Time `json:"registrationDateTime"`
	LastSignIn             time.Time `json:"approximateLastSignInDateTime"`
	// OwnerIDs are the object ids of its registeredOwners (users).
	OwnerIDs []string `json:"registeredOwners"`
}

// DelegatedGrant is a delegated permission grant (GET
// /oauth2PermissionGrants): scopes a client service principal may use on a
// resource on behalf of one user (ConsentType "Principal") or of every user
// (ConsentType "AllPrincipals", an admin's tenant-wide consent).
type DelegatedGrant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"` // object id of the client service principal
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"` // the user, for ConsentType "Principal"
	ResourceID  string `json:"resourceId"`  // object id of the resource service principal
	Scope       string `json:"scope"`       // space-separated scope values
}

// AuthorizationPolicy is the tenant's authorization policy (GET
// /policies/authorizationPolicy), reduced to its defaultUserRolePermissions.
type AuthorizationPolicy struct {
	// PermissionGrantPoliciesAssigned are the permission grant policies
	// that govern user consent: "ManagePermissionGrantsForSelf.<policy
	// id>" entries let users consent to apps (e.g.
	// "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"); none
	// means users cannot consent.
	PermissionGrantPoliciesAssigned []string `json:"permissionGrantPoliciesAssigned"`
	AllowedToCreateApps             bool     `json:"allowedToCreateApps"`
}

// FederatedCredential is a federated identity credential on an application
// (GET /applications/{id}/federatedIdentityCredentials): tokens from Issuer
// for Subject and one of Audiences are accepted as the app — a credential
// without a secret.
type FederatedCredential struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description"`
}

// Domain is a domain of the tenant (GET /domains, Domain.Read.All).
type Domain struct {
	ID                 string `json:"id"`                 // the domain name
	AuthenticationType string `json:"authenticationType"` // "Managed" or "Federated"
	IsVerified         bool   `json:"isVerified"`
	IsDefault          bool   `json:"isDefault"`
	// Federation is the domain's federationConfiguration (GET
	// /domains/{id}/federationConfiguration); read for federated domains
	// only.
	Federation []FederationConfig `json:"federationConfiguration,omitempty"`
}

// FederationConfig is one internalDomainFederation of a federated domain:
// who the tenant trusts to sign users of that domain in.
type FederationConfig struct {
	ID                              string `json:"id"`
	DisplayName                     string `json:"displayName"`
	IssuerURI                       string `json:"issuerUri"`
	PassiveSignInURI                string `json:"passiveSignInUri"`
	ActiveSignInURI                 string `json:"activeSignInUri"`
	MetadataExchangeURI             string `json:"metadataExchangeUri"`
	SignOutURI                      string `json:"signOutUri"`
	SigningCertificate              string `json:"signingCertificate"`     // base64 DER, as Graph returns it
	NextSigningCertificate          string `json:"nextSigningCertificate"` //
	PreferredAuthenticationProtocol string `json:"preferredAuthenticationProtocol"`
	FederatedIdpMfaBehavior         string `json:"federatedIdpMfaBehavior"`
}
