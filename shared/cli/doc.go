// Package cli is the tenantwatch command line: flag parsing, wiring of the
// concrete adapters (Graph client, simulated tenant, reports), progress and
// summaries for a person at a terminal, and exit codes. main.go only hands
// it the process.
//
// Exit codes: 0 the command completed (for scan: the scan completed, whatever
// it found); 1 an error (Graph unreachable, a file unreadable, a failed
// detector); 2 a usage error (unknown command, bad flag); 3 scan
// --fail-on SEVERITY found a finding at or above SEVERITY.
package cli
