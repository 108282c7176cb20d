// Package detect holds tenantwatch's detection rules: one Detector per rule,
// an explicit registry (All) and the runner (Run) that skips rules whose
// data is unavailable, stamps provenance on findings and validates them.
//
// Detectors are pure: a snapshot of tenant data in, findings out. They never
// call Graph, storage or Teams, and they hold no state between runs, so the
// one-shot scan and the serverless app run the same code on the same types.
//
// Conventions every detector follows:
//
//   - Audit events and sign-ins count when they succeeded and Time >= the
//     snapshot's Since. Rules read audit records as typed events decoded by
//     shared/audit (audit.CredentialChanges(in.audits()), …), never
//     modifiedProperties by name; activity names are matched there.
//   - Object ids are compared case-insensitively and lower-cased in keys.
//   - A finding's Key is "<rule>:<subject id>[:<discriminator>]": the same
//     condition on the same object gives the same key in every run.
//   - Subject.ID is a directory object id and never an app id. Audit
//     records that name an app by app id or display name are resolved to
//     the object through the data the run holds (the snapshot's objects and
//     AppRefs; see subjects.go). When nothing resolves it, the subject has
//     no id, the evidence says appId and objectIdResolved=false, and the key
//     says what identified it instead ("appid=<app id>", or
//     "displayname=<hash>").
//   - Evidence keys are camelCase; values are strings, numbers, bools,
//     []string or lists of maps; times are RFC 3339 in UTC.
//   - modifiedProperties values are JSON text inside a string and may be
//     malformed or hostile: shared/audit decodes them and never panics.
//   - Mail permissions are resolved against the resource service principals'
//     appRoles, keyed by (resource app id, role id): see mailroles.go.
//
// The rules' cases live in testdata/<rule-id>/ (see testdata/README.md).
package detect
