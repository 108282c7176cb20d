// The app's own notification URLs, their function key, and every app
// setting, in the order they need each other:
//   1. the URLs of GraphNotifications and GraphLifecycle with ?code=<key>,
//      as Key Vault secrets (notification-url, lifecycle-url): they carry
//      the key, so the app settings only reference them;
//   2. all app settings at once (Microsoft.Web/sites/config 'appsettings'
//      replaces the whole set), after the secrets exist, so that the host
//      resolves the references when it restarts with them;
//   3. the host-level function key 'graph', valid for every function with
//      authLevel function, after the host has its storage settings (keys are
//      kept in the host's storage).
// The key is derived from a seed that azd keeps in Key Vault
// (notification-key-seed), so it is the same on every provision and the
// Graph subscriptions' notification URL stays valid.

@description('Name of the Function App.')
param functionAppName string

@description('Name of the Key Vault that holds the URL secrets.')
param keyVaultName string

@description('Every app setting of the Function App (replaces the whole set).')
param appSettings object

@secure()
@description('Seed of the function key (main.parameters.json: azd secretOrRandomPassword).')
param notificationKeySeed string

// 64 hex characters, URL-safe, derived deterministically from the seed.
var hostKey = '${replace(guid(notificationKeySeed, 'tenantwatch-graph-key', '1'), '-', '')}${replace(guid(notificationKeySeed, 'tenantwatch-graph-key', '2'), '-', '')}'

// The Management Activity API webhook's Webhook-AuthID: 64 hex characters,
// derived from the seed too.
var activityAuthId = '${replace(guid(notificationKeySeed, 'tenantwatch-activity-auth', '1'), '-', '')}${replace(guid(notificationKeySeed, 'tenantwatch-activity-auth', '2'), '-', '')}'

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Routes are the function names under the default /api prefix (host.json
// sets no routePrefix; function.json sets no route).
resource notificationUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'notification-url'
  properties: {
    value: 'https://${app.properties.defaultHostName}/api/GraphNotifications?code=${hostKey}'
    contentType: 'TENANTWATCH_NOTIFICATION_URL'
  }
}

resource lifecycleUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'lifecycle-url'
  properties: {
    value: 'https://${app.properties.defaultHostName}/api/GraphLifecycle?code=${hostKey}'
    contentType: 'TENANTWATCH_LIFECYCLE_URL'
  }
}

// The Management Activity API's webhook: the URL of ActivityNotifications
// with the same key, and its Webhook-AuthID secret (derived from the seed
// too, so that a provision does not change it under the started webhook).
resource activityNotificationUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'activity-notification-url'
  properties: {
    value: 'https://${app.properties.defaultHostName}/api/ActivityNotifications?code=${hostKey}'
    contentType: 'TENANTWATCH_ACTIVITY_NOTIFICATION_URL'
  }
}

resource activityAuthId 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'activity-auth-id'
  properties: {
    value: activityAuthId
    contentType: 'TENANTWATCH_ACTIVITY_AUTH_ID'
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: appSettings
  dependsOn: [
    notificationUrl
    lifecycleUrl
    activityNotificationUrl
    activityAuthId
  ]
}

// Microsoft.Web/sites/host/functionKeys has no Bicep type definitions
// (Azure/bicep-types-az#1356): expect warning BCP081; ARM accepts it.
resource graphFunctionKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: '${app.name}/default/graph'
  properties: {
    name: 'graph'
    value: hostKey
  }
  dependsOn: [
    settings
  ]
}
