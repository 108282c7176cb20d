// The user-assigned managed identity the app uses for everything: the
// Functions host's storage (AzureWebJobsStorage__*), the deployment package
// container, Key Vault references, Application Insights ingestion, Microsoft
// Graph and (service tags 'discovery') the Service Tag Discovery API.

@description('Name of the identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags of the identity.')
param tags object

resource uami 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = uami.id
output name string = uami.name
output clientId string = uami.properties.clientId
output principalId string = uami.properties.principalId
