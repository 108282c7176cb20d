// Application permissions of the user-assigned identity, granted through the
// Microsoft Graph Bicep extension (infra/bicepconfig.json) as app role
// assignments to the resource's service principal: Microsoft Graph's, and
// ActivityFeed.Read of the Office 365 Management APIs (the Management
// Activity API: Exchange's audit records). The equivalent of admin consent,
// with no app registration and no delegated grant. All are read-only.
//
// Granting them needs a Privileged Role Administrator or Global
// Administrator (delegated AppRoleAssignment.ReadWrite.All and
// Application.Read.All). When the person running azd is not one, provision
// with grantGraphPermissions=false and let an administrator run this module
// alone:
//   az deployment group create -g rg-<env> -f infra/modules/graph-permissions.bicep \
//     -p uamiPrincipalId=<AZURE_MANAGED_IDENTITY_PRINCIPAL_ID>
// Public cloud only (the extension's limit).

extension microsoftGraphV1

@description('principalId (service principal object id) of the user-assigned identity.')
param uamiPrincipalId string

// Exactly the catalogue's Microsoft Graph permissions (shared/permission:
// permission.Required(permission.Graph)); the test in shared/deploy fails
// when they differ.
var graphPermissions = [
  'Application.Read.All' // /servicePrincipals, /applications, appRoleAssignedTo of Graph and Exchange Online: every sp.* rule, app.mail-permission-granted
  'AuditLog.Read.All' // directory audits, sign-ins, signInActivity, registration details: every mfa.* rule, signin.azure-ip and the audit side of the others
  'Device.Read.All' // /devices with their registered owners: the rogue device registration rules
  'Directory.Read.All' // with AuditLog.Read.All, what Microsoft's permission table for List directoryAudits requires (since 2021, against licence-check failures); /oauth2PermissionGrants (its least privileged read)
  'Domain.Read.All' // /domains and their federationConfiguration: domain federation changes
  // Group.Read.All also reads the members of the groups Conditional Access policies name.
  'Group.Read.All' // the groups change-notification subscription (group-based licence changes)
  'Organization.Read.All' // /organization and /subscribedSkus: audit.advanced-auditing-disabled, the tenant name
  'Policy.Read.All' // Conditional Access policies and named locations: policy.registration-unrestricted, mfa.registration-untrusted-location
  'User.Read.All' // /users with licences and signInActivity, and the users change-notification subscription
]

resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [for permission in graphPermissions: {
  appRoleId: filter(graphSp.appRoles, r => r.value == permission)[0].id
  principalId: uamiPrincipalId
  resourceId: graphSp.id
}]

// Exactly the catalogue's Office 365 Management APIs permissions
// (permission.Required(permission.OfficeManagement)). The app role is
// found by its value, as Graph's are; its id is
// 594c1fb6-4f81-4475-ae41-0c394909246c ("Read activity data for your
// organization"), the same in every tenant. The service principal
// (appId c5393580-f805-4401-95e8-94b7a6ef2fc2) exists in tenants with
// Microsoft 365 or Office 365 subscriptions.
var officeManagementPermissions = [
  'ActivityFeed.Read' // the Management Activity API's Audit.Exchange content: the exo.* and mail.* rules
]

resource officeManagementSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: 'c5393580-f805-4401-95e8-94b7a6ef2fc2'
}

resource officeManagementGrants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [for permission in officeManagementPermissions: {
  appRoleId: filter(officeManagementSp.appRoles, r => r.value == permission)[0].id
  principalId: uamiPrincipalId
  resourceId: officeManagementSp.id
}]

output grantedPermissions array = concat(graphPermissions, officeManagementPermissions)
