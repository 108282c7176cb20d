// The Log Analytics / Microsoft Sentinel sink (shared/sentinel), deployed
// when TENANTWATCH_SENTINEL_WORKSPACE is set: in the workspace's resource
// group, the custom tables TenantWatchFindings_CL and
// TenantWatchIncidents_CL (columns: ../sentinel/schema.json, the schema of
// shared/sentinel, held to it by its tests), a data collection endpoint, a
// data collection rule whose two streams go unchanged to the tables, and
// Monitoring Metrics Publisher for the app's identity on the rule (the
// role the Logs Ingestion API checks).
//
// The analytics rule templates over the tables are in ../sentinel/rules/
// (README: "Microsoft Sentinel").

@description('Name of the Log Analytics workspace (in this resource group) that gets the tables.')
param workspaceName string

@description('Region of the data collection endpoint and rule.')
param location string

@description('Tags of the endpoint and rule.')
param tags object

@description('Name seed of the endpoint and rule.')
param resourceToken string

@description('principalId of the user-assigned identity that uploads.')
param uamiPrincipalId string

var schema = loadJsonContent('../sentinel/schema.json')
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
var destinationName = 'tenantwatch'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource findingsTable 'Microsoft.OperationalInsights/workspaces/tables@2023-09-01' = {
  parent: workspace
  name: 'TenantWatchFindings_CL'
  properties: {
    plan: 'Analytics'
    schema: {
      name: 'TenantWatchFindings_CL'
      columns: schema.findings.columns
    }
  }
}

resource incidentsTable 'Microsoft.OperationalInsights/workspaces/tables@2023-09-01' = {
  parent: workspace
  name: 'TenantWatchIncidents_CL'
  properties: {
    plan: 'Analytics'
    schema: {
      name: 'TenantWatchIncidents_CL'
      columns: schema.incidents.columns
    }
  }
}

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: 'dce-${resourceToken}'
  location: location
  tags: tags
  properties: {
    description: 'tenantwatch: Logs Ingestion API endpoint'
    networkAcls: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource rule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: 'dcr-${resourceToken}'
  location: location
  tags: tags
  properties: {
    description: 'tenantwatch: findings and incidents to TenantWatchFindings_CL and TenantWatchIncidents_CL'
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: {
      'Custom-TenantWatchFindings_CL': {
        columns: schema.findings.columns
      }
      'Custom-TenantWatchIncidents_CL': {
        columns: schema.incidents.columns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: destinationName
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          'Custom-TenantWatchFindings_CL'
        ]
        destinations: [
          destinationName
        ]
        transformKql: 'source'
        outputStream: 'Custom-TenantWatchFindings_CL'
      }
      {
        streams: [
          'Custom-TenantWatchIncidents_CL'
        ]
        destinations: [
          destinationName
        ]
        transformKql: 'source'
        outputStream: 'Custom-TenantWatchIncidents_CL'
      }
    ]
  }
  dependsOn: [
    findingsTable
    incidentsTable
  ]
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(rule.id, uamiPrincipalId, monitoringMetricsPublisherRoleId)
  scope: rule
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: uamiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// TENANTWATCH_SENTINEL_ENDPOINT and TENANTWATCH_SENTINEL_RULE_ID.
output logsIngestionEndpoint string = endpoint.properties.logsIngestion.endpoint
output ruleImmutableId string = rule.properties.immutableId
