// Package accept reads a file of accepted risks (suppressions) and applies
// it to findings.
//
// The file is JSON: {"entries": [...]}, each entry naming what it accepts
// (rule, subjectId, subjectName, key: every field it names must match),
// why (reason), who accepted it (acceptedBy) and until when (expires, a
// date). Parse reads it strictly; Apply is a pure function over findings:
// it marks the findings an unexpired entry matches as accepted (they are
// still reported, never hidden) and lists the expired entries with the
// findings they would have matched.
//
// Broad entries and critical findings: an entry is exact when it names a
// key, or a rule together with a subjectId. Any other entry is broad (a
// subjectName never makes an entry exact: names are attacker-chosen), and
// a broad entry does not apply to a finding of critical severity unless it
// says "allowCritical": true. So accepting a rule, a subject or a name
// never silently swallows a new critical step of an attack that the entry
// does not name exactly.
package accept
