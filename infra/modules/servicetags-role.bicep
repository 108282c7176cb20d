// Service tags 'discovery': the signin.azure-ip rule reads Microsoft's Azure
// address ranges from the Service Tag Discovery API
// (GET /subscriptions/{id}/providers/Microsoft.Network/locations/{location}/serviceTags).
// Reader would allow far more than that call, so the identity gets a custom
// role whose only action is the call's. Deploying it needs
// Microsoft.Authorization/roleDefinitions/write on the subscription (Owner
// or User Access Administrator).

targetScope = 'subscription'

@description('principalId of the user-assigned identity that calls the Discovery API.')
param uamiPrincipalId string

// One definition per subscription, shared by every environment in it: role
// names are unique in the tenant, so the name carries the subscription id.
resource serviceTagsReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'tenantwatch-service-tags-reader')
  properties: {
    roleName: 'tenantwatch Service Tags Reader (${subscription().subscriptionId})'
    description: 'Read the Azure service tags and their address ranges (Service Tag Discovery API), nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Network/locations/serviceTags/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource serviceTagsReaderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, uamiPrincipalId, serviceTagsReader.id)
  properties: {
    roleDefinitionId: serviceTagsReader.id
    principalId: uamiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output roleDefinitionId string = serviceTagsReader.id
