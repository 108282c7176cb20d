# azd service hook (prepackage) of the tenantwatch service, PowerShell twin
# of prepackage.sh: build dist/ with `make package`, then tell azd not to zip
# the zip that make package also writes.
#
# On Windows azd zips dist/ without Unix file modes, so the host could not
# start dist/tenantwatch: this hook stops there with what to do instead.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
Set-Location $root

if ($env:OS -eq 'Windows_NT') {
    Write-Error ("azd on Windows zips dist/ without the executable's run bit, and the Functions host " +
        "could not start it. Run 'azd deploy' from WSL, Linux or macOS, or build with 'make package' " +
        "there and upload dist/tenantwatch.zip (modes kept): " +
        "az functionapp deployment source config-zip -g <AZURE_RESOURCE_GROUP> -n <AZURE_FUNCTION_APP_NAME> --src dist/tenantwatch.zip")
    exit 1
}

& make package
if ($LASTEXITCODE -ne 0) {
    exit $LASTEXITCODE
}
Set-Content -Path (Join-Path 'dist' '.funcignore') -Value @(
    '# written by infra/hooks/prepackage.ps1: azd zips dist/ itself'
    'tenantwatch.zip'
)
if (-not (Test-Path (Join-Path 'dist' 'host.json'))) {
    Write-Error 'make package did not write dist/host.json'
    exit 1
}
