// Package watch is the deployed app's engine: one method per Azure
// Functions function, each turning a trigger into work in one direction —
// collect (Graph delta rounds against stored baselines, audit and sign-in
// windows since stored watermarks) → the scan's detectors → dedupe in Table
// Storage → sinks (the Teams outbox, dated reports in Blob Storage).
//
// Its rules:
//   - A stream's first round builds its baseline silently: findings it
//     sees are recorded as baseline and never alerted one by one; the daily
//     sweep reports the standing posture in one digest. Installing on a
//     tenant with standing issues therefore posts one digest, not a storm.
//   - A cursor (delta link, watermark) and the baselines move only after
//     the findings they produced are recorded and their outbox items
//     written: a crash repeats work, and dedupe on Finding.Key makes
//     repetition harmless.
//   - Alerts are delivered at least once from the outbox: inline right
//     after a round, and by DeliverAlerts on its timer with back-off.
//   - A round reads what changed, not the directory, and watch reads
//     nothing itself: collect.Rounds does every read (and keeps what
//     rarely changes between rounds); watch orders the rounds and moves
//     the cursors.
//   - Graph subscriptions are created only for users and groups, the
//     directory resources Graph notifies about. Service principals,
//     applications and the logs are polled.
//
// watch never imports msgraph-sdk-go or the storage SDKs (a test of its
// dependencies in shared/blobstore keeps it so): it declares what it needs
// (Graph, Store, Reports) and the command wires *graph.Client,
// *store.Tables and *blobstore.Container in.
package watch
