// Package detect holds tenantwatch's detection rules: one Detector per rule,
// an explicit registry (All) and the runner (Run) that skips rules whose
// data is unavailable, stamps provenance on findings and validates them.
//
// Detectors are pure: a snapshot of tenant data in, findings out. They never
// call Graph, storage or Teams, and they hold no state between runs, so the
// one-shot scan and the serverless app run the same code on the same types.
package detect
