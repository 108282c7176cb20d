// Package acceptance is an independent acceptance test of `tenantwatch scan`.
//
// It serves a foreign tenant — Brackenfield Cooperative Bank, a cast that
// appears nowhere in the project's own simulator — from a tiny Graph-shaped
// HTTP server written only from the public scan contract and Microsoft's
// Graph documentation. It deliberately imports neither shared/graphsim nor
// shared/detect, and its data under testdata/foreign was never derived from
// them.
//
// The server pages every collection at two or three items, honours the
// `ge`/`le`/`eq`/`in`/`startswith` subset of $filter, ignores $select and
// $top (returning full objects with properties nobody asked for) and answers
// a deterministic ~5% of requests, next links included, with 429 and
// Retry-After 0 or 1.
//
// Since issue 12 it also serves the scan's new reads — the beta sign-in
// log (the same entries), devices, domains, the authorization policy,
// delegated grants and applications' federated identity credentials —
// with baseline data from Microsoft's examples and no planted case.
//
// Three scans run against it: the full tenant; the same tenant with the
// sign-in log answering 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant
// (the dependent rules must be listed in skipped, the scan must still exit 0);
// and a tenant with no trusted named location and an enforced
// registersecurityinfo Conditional Access policy (those two rules must stay
// silent).
//
// testdata/foreign/cast.json lists every planted case (rule, subject,
// severity), every look-alike decoy that must stay silent, and the cases the
// contract leaves ambiguous, which are reported but not asserted. Times in
// the data are placeholders ({{now-3d+2h}}, {{now-5d|f}} for Graph's
// seven-digit fractions) resolved when the test starts. The JSON is produced
// by testdata/foreign/generate.py (cd testdata/foreign && python3 generate.py .);
// edit the script, not the JSON. Set TENANTWATCH_ACCEPTANCE_KEEP=DIR to keep
// each scan's findings.json for reading the evidence.
package acceptance
