// The Flex Consumption plan and the Function App that runs the custom
// handler (host.json starts the static Go binary `tenantwatch serve`). The
// app settings are not set here: app-config.bicep sets them all at once,
// after the secrets they reference exist.

@description('Plan name.')
param planName string

@description('Function App name (also its default host name).')
param appName string

@description('Region of both.')
param location string

@description('Tags of both; the app also gets azd-service-name.')
param tags object

@description('Resource id of the user-assigned identity.')
param uamiId string

@description('Blob endpoint of the storage account (https://<account>.blob.core.windows.net/).')
param blobEndpoint string

@description('Container the plan deploys the package to.')
param deploymentContainerName string

@description('functionAppConfig.runtime.name: custom or python (see main.bicep).')
param runtimeName string

@description('functionAppConfig.runtime.version: 1.0 for custom, a Python version for python.')
param runtimeVersion string

@description('Most instances the app scales out to.')
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  // azd deploy finds the app by this tag (the service name in azure.yaml).
  tags: union(tags, {
    'azd-service-name': 'tenantwatch'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${uamiId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: uamiId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: uamiId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
