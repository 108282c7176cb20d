// Package pipeline runs detection end to end: collect tenant data, run the
// detectors, and hand the findings on. Scan is the one-shot form used by
// `tenantwatch scan` and the daily sweep.
package pipeline
