// tenantwatch: the deployed app's infrastructure (`azd up`, or
// `az deployment sub create -l <region> -f infra/main.bicep -p @<params>`).
//
// One resource group rg-<environmentName> with:
//   - a user-assigned managed identity, used for everything: no keys or
//     connection strings with secrets anywhere in the app settings;
//   - a storage account without shared-key access (deployment package,
//     reports, the graph-changes queues, the app's tables);
//   - Log Analytics and Application Insights with local auth off;
//   - a Key Vault (RBAC) with the Teams webhook URL, the notification key
//     seed and the app's own notification URLs;
//   - a Flex Consumption plan and Function App running the custom handler;
// plus, at subscription scope with serviceTagsSource 'discovery', a custom
// role that only reads service tags, and the Microsoft Graph application
// permissions of the identity (modules/graph-permissions.bicep, which a
// privileged administrator can also run alone).
//
// The deployer needs Owner (or Contributor plus User Access Administrator)
// on the subscription, and for the Graph grants a Privileged Role
// Administrator or Global Administrator role; otherwise set
// grantGraphPermissions to false and see modules/graph-permissions.bicep.
// shared/deploy tests this file against the code (settings, schedules,
// queues, tables, permissions, roles): run `go test ./shared/deploy/`.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name (AZURE_ENV_NAME): the resource group is rg-<name>, and it seeds the resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string

@description('Object id of whoever runs the deployment (azd sets AZURE_PRINCIPAL_ID). It gets Key Vault Secrets User on the vault so that azd can read notification-key-seed back on the next provision. Empty: no assignment.')
param principalId string = ''

@description('Kind of principalId (azd sets AZURE_PRINCIPAL_TYPE).')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// Flex Consumption runtime. 'custom' (version 1.0) is the custom handler's
// own stack: the ARM enum and Microsoft's Flex Go sample use it, but one
// deployment error "'custom' is not supported" has been reported and the
// Flex language list does not name it (docs/functions.md §4). Check
// `az functionapp list-flexconsumption-runtimes -l <region>`. Fallback:
// 'python' (3.12): host.json's customHandler section still starts the
// static Go binary, so the declared stack is never used; Microsoft's MCP
// custom-handler samples on Flex do exactly this.
@description('functionAppConfig.runtime.name: custom (default) or python, the fallback when a region refuses custom.')
@allowed([
  'custom'
  'python'
])
param functionRuntimeName string = 'custom'

@description('functionAppConfig.runtime.version; empty: 1.0 for custom, 3.12 for python.')
param functionRuntimeVersion string = ''

@description('Most instances the Function App scales out to (timers run as singletons; HTTP and queue functions scale).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Not environment().graph: that is the retired Azure AD Graph
// (https://graph.windows.net/), not Microsoft Graph.
@description('Microsoft Graph root without the version (TENANTWATCH_GRAPH_URL); the Graph Bicep extension supports the public cloud only.')
param graphUrl string = 'https://graph.microsoft.com'

@description('One Teams card per finding at or above this severity; a digest below (TENANTWATCH_ALERT_SEVERITY).')
@allowed([
  'info'
  'low'
  'medium'
  'high'
  'critical'
])
param alertSeverity string = 'high'

@description('Where signin.azure-ip reads the Azure address ranges: discovery (the Service Tag Discovery API of this subscription, through a custom read-only role), blob (a ServiceTags_Public.json you upload to the servicetags container), none (the rule is skipped and says why).')
@allowed([
  'discovery'
  'blob'
  'none'
])
param serviceTagsSource string = 'discovery'

@description('Grant the identity its Microsoft Graph application permissions here (needs a privileged Entra role); false: an administrator runs modules/graph-permissions.bicep.')
param grantGraphPermissions bool = true

@description('Log Analytics / Microsoft Sentinel sink (TENANTWATCH_SENTINEL_WORKSPACE): empty (default) off; new: the deployment\'s own workspace; else the resource id of an existing workspace (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…), which gets the tables, the data collection endpoint and rule.')
param sentinelWorkspace string = ''

@secure()
@description('Teams Workflows webhook URL ("When a Teams webhook request is received"), kept in Key Vault; empty: alerts wait in the outbox.')
param teamsWebhookUrl string = ''

// azd's secretOrRandomPassword generates 15 letters and digits (about 83
// bits) the first time, and reads the stored seed back afterwards.
@secure()
@minLength(15)
@description('Seed of the function key in the app\'s Graph notification URLs; main.parameters.json lets azd read it back from Key Vault (or generate it the first time), so the key is stable.')
param notificationKeySeed string

// NCRONTAB schedules (UTC) the function.json files reference as %Name%.
@description('PollDirectory: service principal and application deltas, the directory audit log.')
param pollDirectorySchedule string = '0 */2 * * * *'

@description('PollSignIns: successful sign-ins (signin.azure-ip).')
param pollSignInsSchedule string = '0 */5 * * * *'

@description('DailySweep: the full scan and the daily report.')
param dailySweepSchedule string = '0 30 2 * * *'

@description('RenewSubscriptions: create and renew the Graph change-notification subscriptions.')
param renewSubscriptionsSchedule string = '0 0 */6 * * *'

@description('PollActivity: the Management Activity API content (Exchange audit records) since the watermark, and its subscription and webhook.')
param pollActivitySchedule string = '0 */5 * * * *'

@description('DeliverAlerts: post pending cards to Teams.')
param deliverAlertsSchedule string = '0 */1 * * * *'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var runtimeVersion = !empty(functionRuntimeVersion) ? functionRuntimeVersion : (functionRuntimeName == 'python' ? '3.12' : '1.0')

var deploymentContainerName = 'deploymentpackage'
var reportContainerName = 'reports'
var serviceTagsContainerName = 'servicetags'
var serviceTagsBlobName = 'ServiceTags_Public.json'
// Tables: TENANTWATCH_TABLE_PREFIX + the logical names of shared/store.
var tablePrefix = 'tw'
var tableNames = [
  '${tablePrefix}cursors'
  '${tablePrefix}baselines'
  '${tablePrefix}findings'
  '${tablePrefix}outbox'
  '${tablePrefix}subscriptions'
  '${tablePrefix}signins'
  '${tablePrefix}exchange'
  '${tablePrefix}failures'
  '${tablePrefix}incidents'
]
// The queue of functions/*/function.json and the host's poison queue.
var changesQueueName = 'graph-changes'
var activityQueueName = 'activity-content'
var queueNames = [
  changesQueueName
  '${changesQueueName}-poison'
  activityQueueName
  '${activityQueueName}-poison'
]
var armUrl = endsWith(environment().resourceManager, '/') ? substring(environment().resourceManager, 0, length(environment().resourceManager) - 1) : environment().resourceManager
var hasTeamsWebhook = !empty(teamsWebhookUrl)
var hasSentinel = !empty(sentinelWorkspace)
var sentinelNewWorkspace = sentinelWorkspace == 'new'
// An existing workspace's id split at '/': [2] subscription, [4] resource
// group, last the name. A stand-in id when there is none, so that the
// indexes stay valid where ARM evaluates the module's scope anyway.
var sentinelWorkspaceId = hasSentinel && !sentinelNewWorkspace ? sentinelWorkspace : '/subscriptions/${subscription().subscriptionId}/resourceGroups/rg-${environmentName}/providers/Microsoft.OperationalInsights/workspaces/none'
var sentinelWorkspaceParts = split(sentinelWorkspaceId, '/')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity './modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    uamiPrincipalId: identity.outputs.principalId
    deploymentContainerName: deploymentContainerName
    reportContainerName: reportContainerName
    serviceTagsContainerName: serviceTagsSource == 'blob' ? serviceTagsContainerName : ''
    queueNames: queueNames
    tableNames: tableNames
  }
}

module monitoring './modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    uamiPrincipalId: identity.outputs.principalId
  }
}

module keyVault './modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    uamiPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    notificationKeySeed: notificationKeySeed
    teamsWebhookUrl: teamsWebhookUrl
  }
}

module functionApp './modules/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    planName: 'plan-${resourceToken}'
    appName: 'func-${resourceToken}'
    location: location
    tags: tags
    uamiId: identity.outputs.id
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    runtimeName: functionRuntimeName
    runtimeVersion: runtimeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module serviceTagsRole './modules/servicetags-role.bicep' = if (serviceTagsSource == 'discovery') {
  name: 'servicetags-role-${resourceToken}'
  params: {
    uamiPrincipalId: identity.outputs.principalId
  }
}

module graphPermissions './modules/graph-permissions.bicep' = if (grantGraphPermissions) {
  name: 'graph-permissions'
  scope: rg
  params: {
    uamiPrincipalId: identity.outputs.principalId
  }
}

// The Log Analytics sink: in the deployment's resource group with 'new',
// else in the existing workspace's resource group.
module sentinel './modules/sentinel.bicep' = if (hasSentinel) {
  name: 'sentinel-${resourceToken}'
  scope: sentinelNewWorkspace ? rg : resourceGroup(sentinelWorkspaceParts[2], sentinelWorkspaceParts[4])
  params: {
    workspaceName: sentinelNewWorkspace ? monitoring.outputs.logAnalyticsName : last(sentinelWorkspaceParts)
    location: location
    tags: tags
    resourceToken: resourceToken
    uamiPrincipalId: identity.outputs.principalId
  }
}

var vaultUri = keyVault.outputs.vaultUri

// Every setting the code reads (shared/config, the %Name% schedules of
// functions/*/function.json) and the platform's, except those listed with
// their reason in shared/deploy. Not set on Flex Consumption:
// FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, the run-from-package
// and content-share settings, time-zone settings.
var baseAppSettings = {
  // Host storage through the identity: explicit service URIs, no key.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  // The default chain's user-assigned identity (azidentity's DefaultAzureCredential);
  // the app signs in to Graph, storage and Resource Manager as
  // AzureWebJobsStorage__clientId, the same identity.
  AZURE_CLIENT_ID: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  TENANTWATCH_GRAPH_URL: graphUrl
  TENANTWATCH_GRAPH_AUTH: 'azure'
  TENANTWATCH_ALERT_SEVERITY: alertSeverity
  // The beta sign-in log (authenticationProtocol: signin.device-code);
  // 'false' reads v1.0 and skips the rules that need beta.
  TENANTWATCH_BETA: 'true'
  TENANTWATCH_NOTIFICATION_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/notification-url/)'
  TENANTWATCH_LIFECYCLE_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/lifecycle-url/)'
  TENANTWATCH_REPORT_CONTAINER: reportContainerName
  TENANTWATCH_TABLE_PREFIX: tablePrefix
  TENANTWATCH_AUDIT_OVERLAP: '15m'
  TENANTWATCH_SIGNIN_OVERLAP: '15m'
  TENANTWATCH_SWEEP_WINDOW: '720h'
  TENANTWATCH_SUBSCRIPTION_LIFETIME: '41760m'
  TENANTWATCH_RENEW_BEFORE: '72h'
  TENANTWATCH_DELIVERY_BACKOFF: '5s'
  TENANTWATCH_ARM_URL: armUrl
  // The Office 365 Management Activity API (Exchange audit records): the
  // tenant is this deployment's; the webhook's URL and Webhook-AuthID are
  // secrets (app-config.bicep writes them).
  TENANTWATCH_ACTIVITY_URL: 'https://manage.office.com'
  TENANTWATCH_TENANT_ID: tenant().tenantId
  TENANTWATCH_ACTIVITY_NOTIFICATION_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/activity-notification-url/)'
  TENANTWATCH_ACTIVITY_AUTH_ID: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/activity-auth-id/)'
  TENANTWATCH_ACTIVITY_OVERLAP: '30m'
  PollDirectorySchedule: pollDirectorySchedule
  PollSignInsSchedule: pollSignInsSchedule
  DailySweepSchedule: dailySweepSchedule
  RenewSubscriptionsSchedule: renewSubscriptionsSchedule
  DeliverAlertsSchedule: deliverAlertsSchedule
  PollActivitySchedule: pollActivitySchedule
}

// At most one Service Tags source (config.Load refuses more).
var serviceTagAppSettings = {
  discovery: {
    TENANTWATCH_SERVICE_TAGS_SUBSCRIPTION: subscription().subscriptionId
    TENANTWATCH_SERVICE_TAGS_LOCATION: location
  }
  blob: {
    TENANTWATCH_SERVICE_TAGS_BLOB: '${serviceTagsContainerName}/${serviceTagsBlobName}'
  }
  none: {}
}

var teamsAppSettings = hasTeamsWebhook ? {
  TENANTWATCH_TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/teams-webhook/)'
} : {}

var sentinelAppSettings = hasSentinel ? {
  TENANTWATCH_SENTINEL_ENDPOINT: sentinel.outputs.logsIngestionEndpoint
  TENANTWATCH_SENTINEL_RULE_ID: sentinel.outputs.ruleImmutableId
} : {}

module appConfig './modules/app-config.bicep' = {
  name: 'app-config'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    keyVaultName: keyVault.outputs.name
    appSettings: union(baseAppSettings, serviceTagAppSettings[serviceTagsSource], teamsAppSettings, sentinelAppSettings)
    notificationKeySeed: notificationKeySeed
  }
}

// azd stores these in .azure/<env>/.env.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = vaultUri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output TENANTWATCH_SERVICE_TAGS_CONTAINER string = serviceTagsSource == 'blob' ? serviceTagsContainerName : ''
