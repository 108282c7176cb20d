// Package audit decodes audit records into typed events, so that a rule
// reads "which keys were added to which object" instead of looking up
// modifiedProperties by name and decoding their JSON-in-a-string values.
//
// # Records and events
//
// Today it decodes Entra ID directory-audit records (tenant.AuditEvent, read
// from Graph's /auditLogs/directoryAudits). Each activity it knows has one
// entry in an explicit table (directoryActivities in directory.go): the
// activity name as Graph spells it, its family and its decoder. A record
// whose activity is not in the table decodes to nothing. The typed events,
// one family each:
//
//   - CredentialChange: "Add service principal credentials", "Update
//     application – Certificates and secrets management" (KeyDescription)
//   - ReplyURLChange: "Update service principal", "Update application"
//     (AppAddress, ReplyUrls)
//   - AppRoleGrant: "Add app role assignment to service principal"
//     (AppRole.*, the client's ServicePrincipal.*)
//   - LicenceChange: "Change user license", "Update user" (AssignedLicense,
//     AssignedPlan), including records Entra split into several "sequence"
//     events, which are reassembled
//   - SecurityInfoRegistration: "User registered security info", "User
//     registered all required security info"
//   - RoleMemberAdded: "Add member to role", "Add eligible member to role"
//     (Role.*)
//   - DeviceEvent: "Add device", "Add registered owner to device", "Add
//     registered users to device" (targets of type Device and User; the
//     initiator tells a Device Registration Service registration)
//   - Consent: "Consent to application" (ConsentContext.*,
//     ConsentAction.Permissions)
//   - DelegatedGrantAdded: "Add delegated permission grant" (the unified
//     audit log's "Add OAuth2PermissionGrant.") (DelegatedPermissionGrant.*,
//     the client's ServicePrincipal.*)
//   - AppAdded: "Add application", "Add service principal" (AppId,
//     AppPrincipalId)
//   - DomainFederationChange: "Set domain authentication", "Set federation
//     settings on domain" (LiveType, IssuerUri, certificates as SHA-256)
//   - FederatedCredentialChange: "Update application", "Update service
//     principal" (FederatedIdentityCredentials)
//
// An activity may give events of several families: an "Update
// application" record can carry reply URLs and federated identity
// credentials at once, and gives one event of each.
//
// Each family has an accessor that takes records and returns its events in
// record order (CredentialChanges, ReplyURLChanges, …); Decode returns the
// events of every family. The accessors do not filter on result or time:
// the caller passes the records it wants judged (detect passes the
// successful ones in its window).
//
// Activity names are compared after normalisation, in one place
// (normActivity): case, runs of white space, surrounding space, trailing
// periods (the unified audit log writes "Change user license.") and the
// kind of dash (Entra's reference writes "Update application - Certificates
// and secrets management" with a hyphen, real logs with an en dash and a
// trailing space) are ignored.
//
// # Other record families
//
// The package is meant to hold every audit source tenantwatch reads, not
// only Entra's: Exchange Online and other unified-audit-log records (the
// Office 365 Management Activity API: Operation, Parameters as Name/Value
// pairs, aggregated MailItemsAccessed records) will be a second record type
// in shared/tenant with its own table and typed events here, beside the
// directory ones. One package rather than siblings, because the formats
// overlap: the unified log's AzureActiveDirectory records carry the same
// ModifiedProperties texts (KeyDescription, AssignedLicense) and the same
// activity names with a trailing period, and the private value decoders and
// the activity normalisation are then shared without being exported.
//
// # Untrusted input
//
// Every value is attacker-influenced (display names, URLs, certificate
// names). Decoders never panic, never recurse without a bound, and drop what
// they cannot read; the fuzz targets in fuzz_test.go hold them to that.
//
// # Adding an activity
//
// A new activity of an existing family is one line in the table. A new
// family is a file with its event type, its decoder, its accessor and a
// family constant, a line in the table per activity, and a test case under
// testdata/decode/ (see testdata/README.md). The package imports only the
// standard library and shared/tenant.
package audit
