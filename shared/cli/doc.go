// Package cli is the tenantwatch command line: flag parsing, wiring of the
// concrete adapters (Graph client, simulated tenant, reports), progress and
// summaries for a person at a terminal, and exit codes. main.go only hands
// it the process.
//
// The deployed build (-tags deploy, as make package builds it) has scan,
// serve and doctor. The development commands, sim, host and demo, are in
// files built without the tag (dev.go lists them), so that the binary that
// runs in Azure links neither the simulated tenant, the local Functions
// host, the demo nor the Azurite launcher.
//
// Exit codes: 0 the command completed (for scan: the scan completed, whatever
// it found); 1 an error (Graph unreachable, a file unreadable, a failed
// detector); 2 a usage error (unknown command, bad flag); 3 scan
// --fail-on SEVERITY found a finding at or above SEVERITY.
package cli
