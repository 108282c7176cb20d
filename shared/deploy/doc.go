// Package deploy holds the consistency tests of the deployment files
// against the code: infra/*.bicep, infra/main.parameters.json,
// infra/bicepconfig.json and azure.yaml. The Bicep CLI and Azure are not
// needed: the tests read the Bicep text with a small parser of the subset
// the files use (declarations, object and array literals, strings with
// interpolation) and compare it with what the code reads and needs:
//
//   - every app setting shared/config reads, and every %Name% schedule of
//     functions/*/function.json, is set, except an explicit list of
//     settings with the reason each is left out; nothing else is set
//     except the platform's own settings; the settings Flex Consumption
//     refuses are absent;
//   - the values pass config.Load (with stand-ins for what Azure resolves
//     at run time: endpoints, Key Vault references) in every service-tags
//     mode, with and without a Teams webhook;
//   - the schedules are the production schedules, parse as NCRONTAB and
//     match the README;
//   - the queues, tables and containers are those the functions and
//     shared/store use, and azure.yaml deploys the dist/ folder shared/pack
//     lays out;
//   - the Graph permissions are exactly those of the catalogue
//     (permission.Required(permission.Graph), shared/permission), all
//     read-only, granted as app role assignments only;
//   - the Azure role assignments are exactly the data roles the identity
//     needs, no storage key is ever read, and the files are well formed;
//   - every resource is valid against Azure's own type definitions, the
//     files the Bicep compiler checks against (testdata/azure-types, with
//     their source and commit): the resource type and API version exist,
//     every property set exists in its type, literal values have the
//     property's kind and enum strings are allowed values (also those a
//     param's @allowed or a module's callers can pass), no read-only
//     property is set, required properties are present, an existing
//     resource sets only its name and scope; the one untyped resource
//     (Microsoft.Web/sites/host/functionKeys) is an explicit exception.
//
// Each check is also run on mutated copies of the files (a setting
// dropped, a write permission added, shared keys allowed …) to show that
// it fails when it should.
package deploy
