// Microsoft Graph application permissions of the user-assigned identity,
// granted through the Microsoft Graph Bicep extension (infra/bicepconfig.json)
// as app role assignments to the Microsoft Graph service principal: the
// equivalent of admin consent, with no app registration and no delegated
// grant. All are read-only.
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
  'Directory.Read.All' // with AuditLog.Read.All, what Microsoft's permission table for List directoryAudits requires (since 2021, against licence-check failures)
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

output grantedPermissions array = graphPermissions
