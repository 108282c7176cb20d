// The storage account of the Functions host and of the app: no shared key
// (every client signs in with the user-assigned identity), no public blob
// access, TLS 1.2, https only. It holds the Flex Consumption deployment
// package container, the reports container, the queues the functions use and
// the app's tables (the app also creates its tables at start; creating them
// here makes a missing permission show at deployment, not at run time).

@description('Storage account name: 3-24 lower-case letters and digits, globally unique.')
param name string

@description('Region of the account.')
param location string

@description('Tags of the account.')
param tags object

@description('principalId of the user-assigned identity that gets the data roles.')
param uamiPrincipalId string

@description('Container the Flex Consumption plan deploys the app package to (functionAppConfig.deployment.storage).')
param deploymentContainerName string

@description('Container of the daily reports (TENANTWATCH_REPORT_CONTAINER).')
param reportContainerName string

@description('Container of the Service Tags file when serviceTagsSource is blob; empty: no such container.')
param serviceTagsContainerName string = ''

@description('Queues the functions read and write, with their poison queues.')
param queueNames array

@description('Tables of the app (TENANTWATCH_TABLE_PREFIX + the logical names of shared/store).')
param tableNames array

// Built-in role definition ids (docs/functions.md §10).
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource reportContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: reportContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Only with serviceTagsSource 'blob'; upload ServiceTags_Public.json there
// (the weekly download) for the signin.azure-ip rule. The placeholder name
// keeps the skipped resource's id well-formed.
resource serviceTagsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (!empty(serviceTagsContainerName)) {
  parent: blobService
  name: empty(serviceTagsContainerName) ? 'unused' : serviceTagsContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in tableNames: {
  parent: tableService
  name: tableName
}]

// Blob Data Owner, not Contributor: the host manages blob leases and its
// secrets container, and the Flex deployment container is read with it.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, uamiPrincipalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: uamiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, uamiPrincipalId, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: uamiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, uamiPrincipalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: uamiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output reportContainerName string = reportContainer.name
