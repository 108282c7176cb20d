package audit

import "github.com/tenantwatch/tenantwatch/shared/tenant"

// Directory-audit activity names (activityDisplayName) as Graph spells
// them. They are compared after normalisation (normActivity).
const (
	actAddSPCredentials       = "Add service principal credentials"
	actUpdateAppCredentials   = "Update application - Certificates and secrets management"
	actUpdateSP               = "Update service principal"
	actUpdateApplication      = "Update application"
	actAddAppRoleAssignment   = "Add app role assignment to service principal"
	actChangeUserLicense      = "Change user license"
	actUpdateUser             = "Update user"
	actRegisteredSecurityInfo = "User registered security info"
	actRegisteredAllRequired  = "User registered all required security info"
	actAddMemberToRole        = "Add member to role"
	actAddEligibleMember      = "Add eligible member to role"
	actAddDevice              = "Add device"
	actAddDeviceOwner         = "Add registered owner to device"
	actAddDeviceUser          = "Add registered users to device"
	// The activities of the 2023–2025 rules (issue 12).
	actConsentToApplication  = "Consent to application"
	actAddDelegatedGrant     = "Add delegated permission grant"
	actAddOAuth2Grant        = "Add OAuth2PermissionGrant" // the unified audit log's name of the same grant
	actAddApplication        = "Add application"
	actAddServicePrincipal   = "Add service principal"
	actSetDomainAuth         = "Set domain authentication"
	actSetFederationSettings = "Set federation settings on domain"
)

// directoryActivities is every directory-audit activity the package
// decodes: its name, the family of events it gives and its decoder. A new
// activity is a new line here (and, for a new family, the family's file).
var directoryActivities = []activity{
	{name: actAddSPCredentials, family: familyCredentials, decode: credentialDecoder(tenant.SubjectServicePrincipal)},
	{name: actUpdateAppCredentials, family: familyCredentials, decode: credentialDecoder(tenant.SubjectApplication)},
	{name: actUpdateSP, family: familyReplyURLs, decode: replyURLDecoder(tenant.SubjectServicePrincipal)},
	{name: actUpdateApplication, family: familyReplyURLs, decode: replyURLDecoder(tenant.SubjectApplication)},
	{name: actAddAppRoleAssignment, family: familyAppRoleGrants, decode: decodeAppRoleGrant},
	{name: actChangeUserLicense, family: familyLicences, decode: decodeLicence, split: decodeSplitLicence},
	{name: actUpdateUser, family: familyLicences, decode: decodeLicence, split: decodeSplitLicence},
	{name: actRegisteredSecurityInfo, family: familyRegistrations, decode: decodeRegistration},
	{name: actRegisteredAllRequired, family: familyRegistrations, decode: decodeRegistration},
	{name: actAddMemberToRole, family: familyRoleMembers, decode: roleMemberDecoder(false)},
	{name: actAddEligibleMember, family: familyRoleMembers, decode: roleMemberDecoder(true)},
	{name: actAddDevice, family: familyDevices, decode: deviceDecoder(DeviceAdded)},
	{name: actAddDeviceOwner, family: familyDevices, decode: deviceDecoder(DeviceOwnerAdded)},
	{name: actAddDeviceUser, family: familyDevices, decode: deviceDecoder(DeviceUserAdded)},
	{name: actConsentToApplication, family: familyConsents, decode: decodeConsent},
	{name: actAddDelegatedGrant, family: familyDelegatedGrants, decode: decodeDelegatedGrant},
	{name: actAddOAuth2Grant, family: familyDelegatedGrants, decode: decodeDelegatedGrant},
	{name: actAddApplication, family: familyAppsAdded, decode: appAddedDecoder(tenant.SubjectApplication)},
	{name: actAddServicePrincipal, family: familyAppsAdded, decode: appAddedDecoder(tenant.SubjectServicePrincipal)},
	{name: actSetDomainAuth, family: familyDomainFederation, decode: decodeDomainFederation},
	{name: actSetFederationSettings, family: familyDomainFederation, decode: decodeDomainFederation},
	// An app update can carry reply URLs and federated identity
	// credentials at once: one entry per family.
	{name: actUpdateApplication, family: familyFederatedCredentials, decode: federatedCredentialDecoder(tenant.SubjectApplication)},
	{name: actUpdateSP, family: familyFederatedCredentials, decode: federatedCredentialDecoder(tenant.SubjectServicePrincipal)},
}

// family groups the activities whose events have one type; an accessor
// decodes only its family's records.
type family uint8

const (
	familyCredentials family = iota + 1
	familyReplyURLs
	familyAppRoleGrants
	familyLicences
	familyRegistrations
	familyRoleMembers
	familyDevices
	familyConsents
	familyDelegatedGrants
	familyAppsAdded
	familyDomainFederation
	familyFederatedCredentials
)

// activity is one entry of directoryActivities.
type activity struct {
	name   string // as Graph spells it
	family family
	decode func(tenant.AuditEvent) []Event
	// split decodes a record reassembled from split ("sequence") events;
	// nil when Entra does not split the activity's records (split.go).
	split func(splitRecord) []Event
}

// directoryByName finds the table entries of a normalised activity name,
// one per family, in table order.
var directoryByName = indexActivities(directoryActivities)

func indexActivities(as []activity) map[string][]*activity {
	m := make(map[string][]*activity, len(as))
	for i := range as {
		n := normActivity(as[i].name)
		m[n] = append(m[n], &as[i])
	}
	return m
}

// Event is one decoded audit record: a CredentialChange, ReplyURLChange,
// AppRoleGrant, LicenceChange, SecurityInfoRegistration, RoleMemberAdded,
// DeviceEvent, Consent, DelegatedGrantAdded, AppAdded,
// DomainFederationChange or FederatedCredentialChange.
// Only this package's types implement it; use a type switch.
type Event interface{ isEvent() }

// Decode decodes the records whose activity the package knows, in record
// order, followed by the records reassembled from split events. Records of
// other activities, and records that do not hold what their decoder needs
// (no target object, none of the properties it reads), give no event; one
// record can give several (a licence change on two users).
func Decode(records []tenant.AuditEvent) []Event { return decode(records, 0) }

// decode decodes the records of family want (every family when 0).
func decode(records []tenant.AuditEvent, want family) []Event {
	var out []Event
	var chunks []tenant.AuditEvent
	for _, r := range records {
		split := false
		for _, a := range directoryByName[normActivity(r.Activity)] {
			if want != 0 && a.family != want {
				continue
			}
			out = append(out, a.decode(r)...)
			split = split || a.split != nil
		}
		if split {
			chunks = append(chunks, r)
		}
	}
	for _, g := range reassemble(chunks) {
		for _, a := range directoryByName[normActivity(g.First.Activity)] {
			if a.split != nil && (want == 0 || a.family == want) {
				out = append(out, a.split(g)...)
			}
		}
	}
	return out
}

// decodeAs decodes the records of family f into events of type T.
func decodeAs[T Event](records []tenant.AuditEvent, f family) []T {
	var out []T
	for _, ev := range decode(records, f) {
		if t, ok := ev.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// Change is one modified property, decoded: its name as the record spells
// it and its items before and after the change.
type Change[T any] struct {
	Property string
	Old, New []T
}
