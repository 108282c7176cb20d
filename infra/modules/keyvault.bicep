// The Key Vault of the app's secrets, in RBAC mode: the Teams Workflows
// webhook URL (its sig= parameter is the credential), the seed of the Graph
// notification function key, and (written by app-config.bicep) the two
// notification URLs that carry that key. The app reads them as Key Vault
// references through the user-assigned identity. Public network access stays
// on: Flex Consumption cannot resolve Key Vault references of a
// network-restricted vault (docs/functions.md §4).

@description('Vault name: 3-24 letters, digits and hyphens, globally unique.')
param name string

@description('Region of the vault.')
param location string

@description('Tags of the vault.')
param tags object

@description('principalId of the user-assigned identity that resolves the Key Vault references.')
param uamiPrincipalId string

@description('Object id of the person or pipeline running azd (AZURE_PRINCIPAL_ID); empty: none. azd reads notification-key-seed back on the next provision (secretOrRandomPassword), which needs read access to secret values.')
param deployerPrincipalId string = ''

@description('Kind of the deployer principal.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

@secure()
@description('Seed of the notification function key, stored so that later provisions reuse it.')
param notificationKeySeed string

@secure()
@description('Teams Workflows webhook URL; empty: no secret (alerts wait in the outbox).')
param teamsWebhookUrl string = ''

var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource seedSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'notification-key-seed'
  properties: {
    value: notificationKeySeed
    contentType: 'seed of the graph function key (azd secretOrRandomPassword)'
  }
}

// Only when a webhook is given: a reference to a missing secret would stay
// the literal @Microsoft.KeyVault(...) text, which config.Load refuses.
resource teamsSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: vault
  name: 'teams-webhook'
  properties: {
    value: teamsWebhookUrl
    contentType: 'Teams Workflows webhook URL'
  }
}

resource uamiSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, uamiPrincipalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: uamiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

output name string = vault.name
output vaultUri string = vault.properties.vaultUri
