// Package watch is the deployed app's engine: one method per Azure
// Functions function, each turning a trigger into work in one direction —
// read (collect: Graph delta rounds against stored baselines, audit and
// sign-in windows since stored watermarks) → the scan's detectors → dedupe
// in the finding record → correlation (shared/incident, over the findings
// recorded in the join window and the incidents already carded) → sinks
// (the Teams outbox: a card per finding, one per new incident and a
// follow-up per step that joins one; dated reports).
//
// watch reads nothing itself and stores nothing itself: it orders the
// rounds and moves the cursors. New takes its collaborators as Deps, one
// small interface per role, declared here: TenantReader (every read,
// *collect.Rounds), Subscriber (Graph subscriptions, *graph.Client),
// CursorStore, BaselineStore, FindingStore, OutboxStore, SubscriptionStore,
// SignInStore and IncidentStore (all *store.Tables in production), and Reports
// (*blobstore.Container). A test fakes the roles it is about; the package
// builds without msgraph-sdk-go and the storage SDKs (a test of its
// dependencies in shared/blobstore keeps it so).
//
// Its rules:
//   - A stream's first round builds its baseline silently: findings it
//     sees are recorded as baseline and never alerted one by one; the daily
//     sweep reports the standing posture in one digest. Installing on a
//     tenant with standing issues therefore posts one digest, not a storm.
//   - A round records its findings, queues their alerts, stores its
//     baselines and only then moves its cursors (delta links,
//     watermarks): a crash or a failed step repeats work, and dedupe on
//     Finding.Key (state.DecideDedupe) makes repetition harmless. Failed
//     detectors do not hold a round back once what the others found is
//     stored; the round then reports their error.
//   - Alerts are delivered at least once from the outbox: inline right
//     after a round, and by DeliverAlerts on its timer with back-off.
//   - Graph subscriptions are created only for users and groups
//     (config.WatchedResources), the directory resources Graph notifies
//     about. Service principals, applications, devices, domains, grants
//     and the logs are polled.
//   - What a rule needs beyond one poll is kept or joined, never re-read
//     in full: PollSignIns stores the failed-sign-in aggregate and hands
//     every poll its last collect.FailureKeep (password spray), and keeps
//     the sign-ins that start a device chain for the directory polls
//     (collect.ChainKeep); a round
//     whose rules join across polls gets the earlier findings of the rules
//     it joins (Snapshot.Prior: collect.SignInPriorRules,
//     DevicePriorRules, AppPriorRules); the daily sweep compares each
//     domain's federation with the baseline the sweep before stored, and
//     moves that baseline once the findings are recorded.
package watch
