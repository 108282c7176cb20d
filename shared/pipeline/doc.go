// Package pipeline runs detection end to end: collect tenant data, run the
// detectors, and hand the findings on. Scan is the one-shot form used by
// `tenantwatch scan`; Detect is its second half, for the deployed app's
// daily sweep, which collects through collect.Rounds.
package pipeline
