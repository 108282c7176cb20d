#!/bin/sh
# azd service hook (prepackage) of the tenantwatch service: build dist/ the
# way the Functions host expects it (make package: static Linux binary with
# its run bit, host.json, one folder per function), then tell azd not to zip
# the zip that make package also writes.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
cd "$root"
make package
printf '%s\n' '# written by infra/hooks/prepackage.sh: azd zips dist/ itself' 'tenantwatch.zip' > dist/.funcignore
test -x dist/tenantwatch
test -f dist/host.json
