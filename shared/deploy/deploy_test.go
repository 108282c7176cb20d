package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantwatch/tenantwatch/shared/config"
)

// check is one of the checks of checks_test.go.
type check func(*infra, *codeFacts) errs

// run loads the files and runs a check; parse errors count as failures.
func run(files map[string]string, c *codeFacts, chk check) errs {
	in, perrs := loadInfra(files)
	return append(errs(perrs), chk(in, c)...)
}

func report(t *testing.T, e errs) {
	t.Helper()
	for _, err := range e {
		t.Error(err)
	}
}

func realRun(t *testing.T, chk check) {
	t.Helper()
	report(t, run(readInfraFiles(t), loadFacts(t), chk))
}

// TestAppSettingsMatchCode: every setting shared/config reads and every
// %Name% of function.json is set (except notSet and notSetInMode, each
// with its reason), every setting set is read by the code or the
// platform, and the settings Flex refuses are absent.
func TestAppSettingsMatchCode(t *testing.T) { realRun(t, checkAppSettings) }

// TestAppSettingsPassConfigLoad: the deployed values pass config.Load in
// every service-tags mode, with and without a Teams webhook.
func TestAppSettingsPassConfigLoad(t *testing.T) { realRun(t, checkConfigLoad) }

// TestSchedules: the schedule defaults are the production schedules,
// parse as NCRONTAB and fire as the README says.
func TestSchedules(t *testing.T) { realRun(t, checkSchedules) }

// TestStorageNames: queues, tables and containers are those the code uses.
func TestStorageNames(t *testing.T) { realRun(t, checkStorageNames) }

// TestGraphPermissions: exactly permission.Required(permission.Graph), read-only,
// as app role assignments only.
func TestGraphPermissions(t *testing.T) { realRun(t, checkGraphPermissions) }

// TestRoleAssignments: exactly the data roles the identity needs (and Key
// Vault Secrets User for the deployer), the custom role reads service
// tags only.
func TestRoleAssignments(t *testing.T) { realRun(t, checkRoleAssignments) }

// TestNoSharedKeys: no shared key access, no key read, no key-based
// connection string anywhere in the deployment.
func TestNoSharedKeys(t *testing.T) { realRun(t, checkNoSharedKeys) }

// TestStructure: well-formed Bicep and JSON that agree with each other.
func TestStructure(t *testing.T) { realRun(t, checkStructure) }

// TestFunctionApp: the Flex Consumption plan and app, the runtime
// parameter, the azd conventions, Application Insights and Key Vault.
func TestFunctionApp(t *testing.T) { realRun(t, checkFunctionApp) }

// TestNotificationKey: the function key and the app's own notification
// URLs need no manual step and stay stable across provisions.
func TestNotificationKey(t *testing.T) { realRun(t, checkNotificationKey) }

// TestAzureTypes: every resource of infra/ is valid against Azure's own
// type definitions (testdata/azure-types): types and API versions,
// property paths, enum values, no read-only and every required property;
// the untyped ones are explicit exceptions.
func TestAzureTypes(t *testing.T) { realRun(t, checkAzureTypes) }

// TestAzureYAML: azd deploys the dist/ folder make package and
// shared/pack lay out, with every function.
func TestAzureYAML(t *testing.T) { realRun(t, checkAzureYAML) }

// TestUnresolvedReferenceIsRefused documents why the Teams setting is
// conditional: a Key Vault reference Azure cannot resolve reaches the app
// as its literal text, and config.Load refuses it.
func TestUnresolvedReferenceIsRefused(t *testing.T) {
	env := map[string]string{
		"AzureWebJobsStorage__blobServiceUri":  "https://st.blob.core.windows.net/",
		"AzureWebJobsStorage__tableServiceUri": "https://st.table.core.windows.net/",
		teamsSetting:                           "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/teams-webhook/)",
	}
	if _, err := config.Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), teamsSetting) {
		t.Errorf("config.Load accepted an unresolved Key Vault reference: %v", err)
	}
}

// mutation is a change to one deployment file that a check must catch.
type mutation struct {
	name     string
	file     string
	old, new string
	check    check
	want     string // a substring of one of the errors
}

var mutations = []mutation{
	// settings
	{"drop a setting the code reads", mainBicep, "  TENANTWATCH_SWEEP_WINDOW: '720h'\n", "", checkAppSettings, "TENANTWATCH_SWEEP_WINDOW is read by the code but not set"},
	{"drop a schedule", mainBicep, "  DailySweepSchedule: dailySweepSchedule\n", "", checkAppSettings, "DailySweepSchedule is read by the code"},
	{"add a stray setting", mainBicep, "  TENANTWATCH_GRAPH_AUTH: 'azure'\n", "  TENANTWATCH_GRAPH_AUTH: 'azure'\n  TENANTWATCH_DEBUG: 'true'\n", checkAppSettings, "TENANTWATCH_DEBUG is set but neither"},
	{"set FUNCTIONS_WORKER_RUNTIME", mainBicep, "  TENANTWATCH_GRAPH_AUTH: 'azure'\n", "  TENANTWATCH_GRAPH_AUTH: 'azure'\n  FUNCTIONS_WORKER_RUNTIME: 'custom'\n", checkAppSettings, "must not be set on Flex"},
	{"set WEBSITE_TIME_ZONE", mainBicep, "  TENANTWATCH_GRAPH_AUTH: 'azure'\n", "  TENANTWATCH_GRAPH_AUTH: 'azure'\n  WEBSITE_TIME_ZONE: 'UTC'\n", checkAppSettings, "WEBSITE_TIME_ZONE"},
	{"set the connection string form", mainBicep, "  AzureWebJobsStorage__credential: 'managedidentity'\n", "  AzureWebJobsStorage__credential: 'managedidentity'\n  AzureWebJobsStorage: storage.outputs.blobEndpoint\n", checkAppSettings, "AzureWebJobsStorage is set, but notSet"},
	{"set a local-only setting", mainBicep, "  TENANTWATCH_GRAPH_AUTH: 'azure'\n", "  TENANTWATCH_GRAPH_AUTH: 'azure'\n  TENANTWATCH_ALLOW_HTTP_LOOPBACK: 'true'\n", checkAppSettings, "TENANTWATCH_ALLOW_HTTP_LOOPBACK is set"},
	{"two service tag sources", mainBicep, "    TENANTWATCH_SERVICE_TAGS_LOCATION: location\n", "    TENANTWATCH_SERVICE_TAGS_LOCATION: location\n    TENANTWATCH_SERVICE_TAGS_BLOB: 'servicetags/x.json'\n", checkAppSettings, "this mode does not use it"},
	{"Teams reference without a webhook", mainBicep, "var teamsAppSettings = hasTeamsWebhook ?", "var teamsAppSettings = true ?", checkAppSettings, "teamsAppSettings must be"},
	{"Graph URL from environment().graph", mainBicep, "  TENANTWATCH_GRAPH_URL: graphUrl\n", "  TENANTWATCH_GRAPH_URL: environment().graph\n", checkAppSettings, "Azure AD Graph"},
	{"settings in siteConfig too", functionModule, "      minTlsVersion: '1.2'\n", "      minTlsVersion: '1.2'\n      appSettings: []\n", checkAppSettings, "siteConfig.appSettings"},
	{"settings not wired", mainBicep, "union(baseAppSettings, serviceTagAppSettings[serviceTagsSource], teamsAppSettings, sentinelAppSettings)", "baseAppSettings", checkAppSettings, "app-config appSettings"},
	{"sentinel rule publisher dropped", "infra/modules/sentinel.bicep", "var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'", "var monitoringMetricsPublisherRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'", checkRoleAssignments, "Monitoring Metrics Publisher"},
	{"sentinel rule api version unknown", "infra/modules/sentinel.bicep", "'Microsoft.Insights/dataCollectionRules@2023-03-11'", "'Microsoft.Insights/dataCollectionRules@2021-09-01-preview'", checkAzureTypes, "dataCollectionRules@2021-09-01-preview"},
	{"sentinel table property unknown", "infra/modules/sentinel.bicep", "    plan: 'Analytics'\n    schema: {\n      name: 'TenantWatchFindings_CL'", "    plan: 'Analytics'\n    retentionDays: 30\n    schema: {\n      name: 'TenantWatchFindings_CL'", checkAzureTypes, "retentionDays"},
	{"sentinel custom stream misnamed", "infra/modules/sentinel.bicep", "        streams: [\n          'Custom-TenantWatchFindings_CL'", "        streams: [\n          'TenantWatchFindings_CL'", checkAzureTypes, "TenantWatchFindings_CL"},
	// values
	{"duration config refuses", mainBicep, "TENANTWATCH_AUDIT_OVERLAP: '15m'", "TENANTWATCH_AUDIT_OVERLAP: '15 minutes'", checkConfigLoad, "TENANTWATCH_AUDIT_OVERLAP"},
	{"renewal longer than the lifetime", mainBicep, "TENANTWATCH_RENEW_BEFORE: '72h'", "TENANTWATCH_RENEW_BEFORE: '800h'", checkConfigLoad, "TENANTWATCH_RENEW_BEFORE"},
	{"severity config refuses", mainBicep, "param alertSeverity string = 'high'", "param alertSeverity string = 'urgent'", checkConfigLoad, "TENANTWATCH_ALERT_SEVERITY"},
	{"malformed Key Vault reference", mainBicep, "secrets/lifecycle-url/)'", "secrets/lifecycle-url)'", checkConfigLoad, "malformed Key Vault reference"},
	{"reference to a secret nobody creates", mainBicep, "secrets/lifecycle-url/)'", "secrets/lifecycle/)'", checkConfigLoad, "no Microsoft.KeyVault/vaults/secrets resource creates"},
	{"secret defined twice", keyVaultModule, "resource uamiSecretsUser ", "resource lifecycleCopy 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {\n  parent: vault\n  name: 'lifecycle-url'\n  properties: {\n    value: 'https://example.org/api/GraphLifecycle'\n  }\n}\n\nresource uamiSecretsUser ", checkConfigLoad, `secret "lifecycle-url" is defined 2 times (infra/modules/app-config.bicep, infra/modules/keyvault.bicep)`},
	{"http notification URL", appConfigModule, "value: 'https://${app.properties.defaultHostName}/api/GraphLifecycle", "value: 'http://${app.properties.defaultHostName}/api/GraphLifecycle", checkConfigLoad, "TENANTWATCH_LIFECYCLE_URL"},
	// schedules
	{"schedule differs from production", mainBicep, "param pollSignInsSchedule string = '0 */5 * * * *'", "param pollSignInsSchedule string = '0 */10 * * * *'", checkSchedules, "PollSignInsSchedule"},
	{"five-field cron", mainBicep, "param pollDirectorySchedule string = '0 */2 * * * *'", "param pollDirectorySchedule string = '*/2 * * * *'", checkSchedules, "want 6 fields"},
	{"schedule not a param", mainBicep, "  DeliverAlertsSchedule: deliverAlertsSchedule\n", "  DeliverAlertsSchedule: '0 */1 * * * *'\n", checkSchedules, "want a main.bicep param"},
	// storage names
	{"poison queue missing", mainBicep, "  '${changesQueueName}-poison'\n", "", checkStorageNames, "queues"},
	{"table missing", mainBicep, "  '${tablePrefix}signins'\n", "", checkStorageNames, "tables"},
	{"prefix setting differs from the tables", mainBicep, "  TENANTWATCH_TABLE_PREFIX: tablePrefix\n", "  TENANTWATCH_TABLE_PREFIX: 'tx'\n", checkStorageNames, "tables"},
	{"report container differs", mainBicep, "    reportContainerName: reportContainerName\n", "    reportContainerName: 'report'\n", checkStorageNames, "report container"},
	{"deployment container differs", mainBicep, "    blobEndpoint: storage.outputs.blobEndpoint\n    deploymentContainerName: deploymentContainerName\n", "    blobEndpoint: storage.outputs.blobEndpoint\n    deploymentContainerName: 'other'\n", checkStorageNames, "same deploymentContainerName"},
	// Graph
	{"add Mail.Send", graphModule, "  'User.Read.All' //", "  'Mail.Send' // no\n  'User.Read.All' //", checkGraphPermissions, "Mail.Send"},
	{"add Directory.ReadWrite.All", graphModule, "  'User.Read.All' //", "  'Directory.ReadWrite.All' // no\n  'User.Read.All' //", checkGraphPermissions, "not a .Read.All permission"},
	{"drop a permission", graphModule, "  'Policy.Read.All' // Conditional", "  // Conditional", checkGraphPermissions, "on Microsoft Graph; the catalogue's are"},
	{"drop ActivityFeed.Read", graphModule, "  'ActivityFeed.Read' // the", "  // the", checkGraphPermissions, "on Office 365 Management APIs; the catalogue's are [ActivityFeed.Read]"},
	{"ActivityFeed.ReadDlp instead", graphModule, "  'ActivityFeed.Read' // the", "  'ActivityFeed.ReadDlp' // the", checkGraphPermissions, "ActivityFeed.ReadDlp is not a .Read permission"},
	{"Office 365 Management APIs by the wrong appId", graphModule, "  appId: 'c5393580-f805-4401-95e8-94b7a6ef2fc2'", "  appId: '00000002-0000-0ff1-ce00-000000000000'", checkGraphPermissions, "want Office 365 Management APIs c5393580-f805-4401-95e8-94b7a6ef2fc2"},
	{"ActivityFeed.Read granted on Graph", graphModule, "  resourceId: officeManagementSp.id", "  resourceId: graphSp.id", checkGraphPermissions, "on officeManagementSp.id"},
	{"permission without comment", graphModule, "  'Group.Read.All' // the groups change-notification subscription (group-based licence changes)", "  'Group.Read.All'", checkGraphPermissions, "has no comment"},
	{"delegated grant", graphModule, "output grantedPermissions", "resource consent 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = {\n  clientId: uamiPrincipalId\n}\n\noutput grantedPermissions", checkGraphPermissions, "oauth2permissiongrant"},
	{"app registration", graphModule, "output grantedPermissions", "resource reg 'Microsoft.Graph/applications@v1.0' = {\n  uniqueName: 'tw'\n}\n\noutput grantedPermissions", checkGraphPermissions, "microsoft.graph/applications"},
	{"grant to someone else", graphModule, "  principalId: uamiPrincipalId\n", "  principalId: '00000000-0000-0000-0000-000000000000'\n", checkGraphPermissions, "the grant must go to uamiPrincipalId"},
	{"not Microsoft Graph", graphModule, "appId: '00000003-0000-0000-c000-000000000000'", "appId: '00000002-0000-0ff1-ce00-000000000000'", checkGraphPermissions, "want Microsoft Graph"},
	// roles
	{"Contributor instead of Blob Data Owner", storageModule, "var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'", "var storageBlobDataOwnerRoleId = 'b24988ac-6180-42a0-ab88-20f7382dd24c'", checkRoleAssignments, "is not one the app needs"},
	{"role to the deployer", infraModule("monitoring.bicep"), "    principalId: uamiPrincipalId\n", "    principalId: deployerPrincipalId\n", checkRoleAssignments, "role assignments"},
	{"Reader in the custom role", serviceTagsMod, "          'Microsoft.Network/locations/serviceTags/read'\n", "          'Microsoft.Network/locations/serviceTags/read'\n          '*/read'\n", checkRoleAssignments, "actions are"},
	{"custom role with data actions", serviceTagsMod, "        dataActions: []", "        dataActions: [\n          'Microsoft.Storage/*'\n        ]", checkRoleAssignments, "dataActions must be empty"},
	{"service tags role always", mainBicep, "= if (serviceTagsSource == 'discovery') {", "= {", checkRoleAssignments, "service tags role"},
	{"wrong principal passed", mainBicep, "    logAnalyticsName: 'log-${resourceToken}'\n    applicationInsightsName: 'appi-${resourceToken}'\n    location: location\n    tags: tags\n    uamiPrincipalId: identity.outputs.principalId\n", "    logAnalyticsName: 'log-${resourceToken}'\n    applicationInsightsName: 'appi-${resourceToken}'\n    location: location\n    tags: tags\n    uamiPrincipalId: principalId\n", checkRoleAssignments, "passes uamiPrincipalId"},
	// keys
	{"shared key allowed", storageModule, "allowSharedKeyAccess: false", "allowSharedKeyAccess: true", checkNoSharedKeys, "allowSharedKeyAccess"},
	{"public blobs", storageModule, "allowBlobPublicAccess: false", "allowBlobPublicAccess: true", checkNoSharedKeys, "allowBlobPublicAccess"},
	{"listKeys", storageModule, "output name string = storage.name", "output key string = storage.listKeys().keys[0].value\noutput name string = storage.name", checkNoSharedKeys, "listkeys("},
	{"TLS 1.0", storageModule, "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'", checkNoSharedKeys, "minimumTlsVersion"},
	// structure
	{"unbalanced brace", infraModule("identity.bicep"), "  tags: tags\n}", "  tags: tags\n", checkStructure, "never closed"},
	{"module path typo", mainBicep, "'./modules/monitoring.bicep'", "'./modules/monitor.bicep'", checkStructure, "does not exist"},
	{"unused param", infraModule("identity.bicep"), "param tags object\n", "param tags object\n\nparam sku string = 'x'\n", checkStructure, "param sku is never used"},
	{"unknown module param", mainBicep, "    name: 'id-${resourceToken}'\n", "    name: 'id-${resourceToken}'\n    color: 'blue'\n", checkStructure, "passes color"},
	{"missing module output", mainBicep, "output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name", "output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.accountName", checkStructure, "has no such output"},
	{"bad bicepconfig", bicepConfig, "microsoftgraph/v1.0:1.0.0", "microsoftgraph/v1.0:0.1.8-preview", checkStructure, "extensions.microsoftGraphV1"},
	{"invalid parameters JSON", mainParameters, `"contentVersion": "1.0.0.0",`, `"contentVersion": "1.0.0.0"`, checkStructure, mainParameters},
	{"unknown parameter", mainParameters, `"parameters": {`, `"parameters": {"unknownParam": {"value": "${X}"},`, checkStructure, "unknownParam is not a param"},
	{"missing extension", graphModule, "extension microsoftGraphV1\n", "", checkStructure, "need `extension microsoftGraphV1`"},
	// the app
	{"not Flex", functionModule, "name: 'FC1'", "name: 'Y1'", checkFunctionApp, "'FC1'"},
	{"runtime not a param", functionModule, "        name: runtimeName\n", "        name: 'custom'\n", checkFunctionApp, "runtimeName"},
	{"runtime default python", mainBicep, "param functionRuntimeName string = 'custom'", "param functionRuntimeName string = 'python'", checkFunctionApp, "functionRuntimeName"},
	{"system-assigned identity", functionModule, "type: 'UserAssigned'\n", "type: 'SystemAssigned, UserAssigned'\n", checkFunctionApp, "identity"},
	{"no azd tag", functionModule, "'azd-service-name': 'tenantwatch'", "'azd-service-name': 'web'", checkFunctionApp, "azd-service-name"},
	{"local auth on", infraModule("monitoring.bicep"), "DisableLocalAuth: true", "DisableLocalAuth: false", checkFunctionApp, "DisableLocalAuth"},
	{"access policies", keyVaultModule, "enableRbacAuthorization: true", "enableRbacAuthorization: false", checkFunctionApp, "enableRbacAuthorization"},
	{"Teams secret always", keyVaultModule, "= if (!empty(teamsWebhookUrl)) {", "= {", checkFunctionApp, "teams-webhook secret"},
	{"seed not secure", mainBicep, "@secure()\n@minLength(15)", "@minLength(16)", checkFunctionApp, "notificationKeySeed must be @secure()"},
	// the key
	{"random seed each time", mainParameters, "$(secretOrRandomPassword ${AZURE_KEY_VAULT_NAME} notification-key-seed)", "$(secretOrRandomPassword)", checkNotificationKey, "notificationKeySeed"},
	{"seed not stored", keyVaultModule, "name: 'notification-key-seed'", "name: 'seed'", checkNotificationKey, "notification-key-seed"},
	{"key before settings", appConfigModule, "  dependsOn: [\n    settings\n  ]\n", "", checkNotificationKey, "depend on the app settings"},
	{"wrong route", appConfigModule, "/api/GraphNotifications?code=", "/api/notifications?code=", checkNotificationKey, "notification-url"},
	{"settings before secrets", appConfigModule, "  dependsOn: [\n    notificationUrl\n    lifecycleUrl\n    activityNotificationUrl\n    activityAuthId\n  ]\n", "", checkNotificationKey, "must depend on secret"},
	{"plain notification URL", mainBicep, "TENANTWATCH_NOTIFICATION_URL: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/notification-url/)'", "TENANTWATCH_NOTIFICATION_URL: 'https://example.org/api/GraphNotifications'", checkNotificationKey, "TENANTWATCH_NOTIFICATION_URL must be a Key Vault reference"},
	// Azure's type definitions
	{"misspelled property", keyVaultModule, "    softDeleteRetentionInDays: 90\n", "    softDeleteRetentionDays: 90\n", checkAzureTypes, "properties.softDeleteRetentionDays is not a property of VaultProperties (did you mean softDeleteRetentionInDays?)"},
	{"misspelled top-level property", infraModule("identity.bicep"), "  location: location\n", "  locaton: location\n", checkAzureTypes, "locaton is not a property"},
	{"property in the wrong object", functionModule, "    httpsOnly: true\n", "    httpsOnly: true\n    minTlsVersion: '1.2'\n", checkAzureTypes, "properties.minTlsVersion is not a property of SiteProperties"},
	{"wrong enum value", keyVaultModule, "      name: 'standard'\n", "      name: 'Standard'\n", checkAzureTypes, `properties.sku.name = "Standard", which is not one of standard, premium`},
	{"wrong extensible enum value", storageModule, "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1.2'", checkAzureTypes, `properties.minimumTlsVersion = "TLS1.2", which is not one of`},
	{"param allows a value the enum does not", keyVaultModule, "  'ServicePrincipal'\n  'Group'\n])\nparam deployerPrincipalType", "  'ServicePrincipal'\n  'Group'\n  'Robot'\n])\nparam deployerPrincipalType", checkAzureTypes, `may be "Robot" (@allowed of param deployerPrincipalType`},
	{"caller passes a value the enum does not", mainBicep, "  'custom'\n  'python'\n])\nparam functionRuntimeName", "  'custom'\n  'python'\n  'golang'\n])\nparam functionRuntimeName", checkAzureTypes, `properties.functionAppConfig.runtime.name = runtimeName may be "golang"`},
	{"string for a boolean", functionModule, "    httpsOnly: true\n", "    httpsOnly: 'true'\n", checkAzureTypes, "properties.httpsOnly = 'true': expects a bool, got a string"},
	{"read-only property", storageModule, "    publicNetworkAccess: 'Enabled'\n", "    publicNetworkAccess: 'Enabled'\n    primaryLocation: location\n", checkAzureTypes, "properties.primaryLocation is read-only"},
	{"read-only Graph property", graphModule, "  principalId: uamiPrincipalId\n", "  principalId: uamiPrincipalId\n  principalType: 'ServicePrincipal'\n", checkAzureTypes, "principalType is read-only"},
	{"missing required property", keyVaultModule, "    tenantId: subscription().tenantId\n", "", checkAzureTypes, "required property properties.tenantId is missing"},
	{"missing required Graph property", graphModule, "  resourceId: graphSp.id\n", "", checkAzureTypes, "required property resourceId is missing"},
	{"name outside the type's pattern", keyVaultModule, "  name: 'notification-key-seed'\n", "  name: 'notification_key_seed'\n", checkAzureTypes, `name = "notification_key_seed" does not match the type's pattern ^[a-zA-Z0-9-]{1,127}$`},
	{"unknown API version", keyVaultModule, "resource vault 'Microsoft.KeyVault/vaults@2023-07-01'", "resource vault 'Microsoft.KeyVault/vaults@2023-07-02'", checkAzureTypes, "API version 2023-07-02 of Microsoft.KeyVault/vaults has no type definition (typed: 2023-07-01)"},
	{"unknown resource type", storageModule, "'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01'", "'Microsoft.Storage/storageAccounts/queueService/queues@2023-05-01'", checkAzureTypes, "has no type definition (did you mean Microsoft.Storage/storageAccounts/queueServices/queues?)"},
	{"wrong app config name", appConfigModule, "  name: 'appsettings'\n", "  name: 'appSettings'\n", checkAzureTypes, `name = "appSettings" is not one of appsettings, authsettings`},
	{"existing resource with properties", appConfigModule, "  name: keyVaultName\n", "  name: keyVaultName\n  location: 'westeurope'\n", checkAzureTypes, "an existing resource sets only its name"},
	{"child of the wrong parent", storageModule, "  parent: blobService\n  name: reportContainerName\n", "  parent: queueService\n  name: reportContainerName\n", checkAzureTypes, "parent queueService is a Microsoft.Storage/storageAccounts/queueServices"},
	{"resource group in a resource group", infraModule("identity.bicep"), "output id string", "resource rg2 'Microsoft.Resources/resourceGroups@2024-03-01' = {\n  name: 'rg2'\n  location: location\n}\n\noutput id string", checkAzureTypes, "declared at resourceGroup scope; the type is deployable at subscription only"},
	{"untyped resource exception unused", appConfigModule, "'Microsoft.Web/sites/host/functionKeys@2024-04-01'", "'Microsoft.Web/sites/hostKeys@2024-04-01'", checkAzureTypes, "untypedResources lists Microsoft.Web/sites/host/functionKeys"},
	// azd
	{"dist elsewhere", azureYAML, "    dist: dist\n", "    dist: out\n", checkAzureYAML, "dist"},
	{"not a function", azureYAML, "    host: function\n", "    host: appservice\n", checkAzureYAML, "host"},
	{"hook missing", azureYAML, "run: infra/hooks/prepackage.sh", "run: infra/hooks/build.sh", checkAzureYAML, "does not exist"},
}

func infraModule(name string) string { return "infra/modules/" + name }

// TestChecksCatchMutations runs each check on a mutated copy of the files
// and wants it to fail, with the expected message; the unmutated files
// must pass the same check (the tests above).
func TestChecksCatchMutations(t *testing.T) {
	files := readInfraFiles(t)
	c := loadFacts(t)
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			src, ok := files[m.file]
			if !ok || !strings.Contains(src, m.old) {
				t.Fatalf("%s does not contain %q: update the mutation", m.file, m.old)
			}
			mutated := make(map[string]string, len(files))
			for k, v := range files {
				mutated[k] = v
			}
			mutated[m.file] = strings.Replace(src, m.old, m.new, 1)
			got := run(mutated, c, m.check)
			if len(got) == 0 {
				t.Fatalf("the check passed the mutated %s", m.file)
			}
			for _, err := range got {
				if strings.Contains(err.Error(), m.want) {
					return
				}
			}
			t.Errorf("no error mentions %q; got:\n%v", m.want, got)
		})
	}
}

// TestParser checks the Bicep reader on a fixture with the awkward parts:
// comment markers in strings, nested interpolation, multi-line objects
// and arrays, decorators, loops and conditions.
func TestParser(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "parser.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	f := parseBicep("testdata/parser.bicep", string(b))
	for _, err := range f.Errors {
		t.Fatal(err)
	}
	if got, ok := f.eval("url"); !ok || got != "https://example.org/a//b" {
		t.Errorf("url = %q, %v", got, ok)
	}
	if got, ok := f.eval("greeting"); !ok || got != "it's tw-x" {
		t.Errorf("greeting = %q, %v", got, ok)
	}
	if _, ok := f.eval("computed"); ok {
		t.Error("computed evaluated, but it calls a function")
	}
	items, err := f.evalArray("names")
	if err != nil || strings.Join(items, ",") != "twa,twb,c" {
		t.Errorf("names = %v, %v", items, err)
	}
	o, err := f.varObject("settings")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Keys, ",") != "A,B_C,nested,quoted-key,multi" {
		t.Errorf("keys = %v", o.Keys)
	}
	if v := o.path("nested").Vals["inner"]; v != "'${prefix}/x'" {
		t.Errorf("nested.inner = %q", v)
	}
	if v := o.Vals["multi"]; !strings.HasPrefix(v, "union(") || !strings.HasSuffix(v, "})") {
		t.Errorf("multi = %q", v)
	}
	if allowed := allowedValues(f.Params["mode"]); strings.Join(allowed, ",") != "a,b" {
		t.Errorf("allowed = %v", allowed)
	}
	r := f.resources("Microsoft.Storage/storageAccounts/queueServices/queues")
	if len(r) != 1 {
		t.Fatalf("queues resources = %d", len(r))
	}
	if head, ok := r[0].loop(); !ok || head != "q in names" {
		t.Errorf("loop = %q, %v", head, ok)
	}
	if c := f.resources("Microsoft.Storage/storageAccounts")[0].condition(); c != "!empty(prefix)" {
		t.Errorf("condition = %q", c)
	}
	if !f.usesWord("prefix", f.Params["prefix"]) || f.usesWord("unused", f.Params["unused"]) {
		t.Error("usesWord")
	}
	if err := checkBalanced(stripComments("var x = '{' // }\nvar y = [ { } ]")); err != nil {
		t.Error(err)
	}
	if err := checkBalanced("var y = [ { ] }"); err == nil {
		t.Error("crossed brackets accepted")
	}
}
