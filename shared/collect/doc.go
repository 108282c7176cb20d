// Package collect turns a trigger into detection input. For the one-shot
// scan, Snapshot reads every source the rules need from a Reader (satisfied
// by *graph.Client) into a tenant.Snapshot, streaming each collection page by
// page into compact domain values.
//
// A source that answers "access denied" (a missing permission, or a licence
// the tenant lacks) does not fail the collection: it is recorded in
// Snapshot.Unavailable with the reason, and the rules that need it are
// skipped later. Any other error fails the collection.
package collect
