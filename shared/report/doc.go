// Package report renders the result of a scan for the people and tools that
// read it: findings.json (a stable contract for other tools), findings.csv
// (for a spreadsheet), report.html (one self-contained page for a browser)
// and a short plain-text summary for the terminal.
//
// NewDocument builds a Document (the findings, sorted; the skipped rules and
// unavailable sources; the rule catalogue, so that a report shows what was
// checked as well as what was found). WriteText prints the summary;
// WriteJSON, WriteCSV and WriteHTML write one file each; WriteOCSF writes
// findings.ocsf.jsonl (OCSF 1.8.0 Detection Findings, the mapping at
// WriteOCSF); WriteDir writes the four files into a directory as one set (the earlier set or the new one,
// never a mix; mode 0600); Render returns the three (not the OCSF file) in memory with their media
// types, for a caller that stores them elsewhere
// (shared/blobstore). ReadJSON reads findings.json back, so that ReadJSON
// followed by WriteJSON reproduces the file byte for byte. The package
// renders only: no network I/O, no Azure SDK.
//
// Compare (scan --compare) marks each finding new or still open against an
// earlier findings.json, and the earlier ones not found resolved;
// ReadPrevious reads that file as untrusted input (size cap, strict
// decoding, unique keys). A compared Document leads every output with what
// changed (findings.json gains "changes"; see README's "Outputs").
//
// Document.Incidents (shared/incident: the findings one attack ties
// together) lead every output: findings.json's "incidents", report.html's
// first section, the summary's first lines and one Detection Finding each
// in findings.ocsf.jsonl, whose related_events name the findings' lines.
//
// Document.Acceptance (scan --accept, shared/accept) marks the findings an
// accept file accepts: findings.json gains "accepted" in each and a
// top-level "acceptance"; findings.csv's last column, report.html, the
// summary and findings.ocsf.jsonl (status_id 3 Suppressed) mark them too,
// and the expired entries are listed. Nothing is hidden.
//
// What each file holds and how tenant-controlled text (display names, UPNs,
// certificate names, URLs: attacker-controlled) is neutralised in each is
// README's "Outputs"; the exact bytes are held by the golden files in
// testdata/ (go test -update rewrites them) and by the tests of each
// escaping rule (CSV formula and control characters, HTML contexts, bidi
// and invisible characters shown as \uXXXX). report.html is written by hand
// (htmlwrite.go), not with html/template, whose reflection would make the
// linker keep every exported method the binary can reach.
package report
