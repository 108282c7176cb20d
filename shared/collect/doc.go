// Package collect owns every read of the tenant: it turns a trigger into
// detection input, a tenant.Snapshot of compact domain values, and nothing
// else reads Microsoft Graph for detection.
//
//   - Snapshot reads every source the rules need from a Reader (satisfied
//     by *graph.Client): the one-shot scan and the deployed app's daily
//     sweep.
//   - Rounds reads the deployed app's incremental rounds from a
//     RoundReader and the stored state (StateReader, satisfied by
//     *store.Tables): the users round, the directory round (delta rounds
//     against the stored baselines, the audit window, and what judging
//     them needs, kept between rounds when it rarely changes) and the
//     sign-in round (the beta log when the reader has it, the stored
//     failed-sign-in aggregate merged with the round's failures, and — for
//     a device-code sign-in or a spray's success — the cached Conditional
//     Access policies and their groups' members, by which the posture
//     raises those rules' severity as in the scan), plus the
//     daily sweep's federation baseline (Rounds.Federation). Each returns a
//     partial snapshot, in which the sources it did not read are
//     unavailable, with the earlier findings its chains join (joins.go), and
//     what its caller stores once the findings are recorded; collect
//     writes nothing.
//
// One rule holds for a source that cannot be read, on every path: access
// denied (a missing permission, or a licence the tenant lacks) does not
// fail the read; the source is recorded in Snapshot.Unavailable with
// Graph's answer as the reason, and the rules that need it are skipped.
// Any other error fails the collection or the round (a round's caller
// then keeps its cursor, and the next round reads again).
//
// A new source is a Reader method (or a RoundReader one), a tenant.Source,
// and its read in Snapshot's lanes or in the round that needs it.
package collect
