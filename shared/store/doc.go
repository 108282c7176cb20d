// Package store keeps the deployed app's incremental state in Azure Table
// Storage (Azurite locally): where each stream resumes, the baselines delta
// rounds compare, the findings already reported, the Teams outbox, the
// Graph subscriptions and the sign-in history one rule needs. It trades in
// the records of shared/state and the domain types of shared/tenant; no
// aztables type crosses its API. *Tables plays every storage role its users
// declare, each a small interface: watch's CursorStore, BaselineStore,
// FindingStore, OutboxStore, SubscriptionStore, SignInStore and IncidentStore,
// collect.StateReader, notify's OutboxStore and DeliveryStore. The
// package's tests, on Azurite, are their contract suite (contract_test.go
// lists which test holds which role). What recording a finding does is the
// pure decision state.DecideDedupe, which the store applies under ETags.
//
// # Tables
//
// Each table is named TablesOptions.Prefix (default "tw") + its name:
//
//	cursors        PK "cursor"        RK name                one row per stream (delta link or watermark)
//	baselines      PK subject type    RK lower-case id       state.Baseline as JSON
//	findings       PK rule id         RK encoded Finding.Key status, first/last seen, the finding as JSON
//	outbox         PK "outbox"        RK item ID             pending and delivered Teams posts
//	subscriptions  PK "subscription"  RK resource            one Graph subscription per resource
//	signins        PK "user"          RK lower-case user id  successful sign-in times as JSON
//	               PK "chain.<user>"  RK sign-in id          a device chain's first sign-in as JSON, kept 25 h
//	exchange       PK "blob"/"admin"  RK content or record id the Exchange path's claims and admin records
//	failures       PK 10-min bucket   RK kind|key            failed sign-in tallies (password spray), kept 2 h
//	incidents      PK "incident"      RK incident id         revision, member finding keys, first seen, last card
//
// Keys made only of ASCII letters, digits, '-', '_' and '.' are stored as
// they are. Any other key (finding keys hold ':' '/' IP addresses and any
// Unicode; RowKey forbids / \ # ? and control characters) is stored as
// "~b" + its base64url encoding, or "~h" + the hex SHA-256 of keys over
// 600 bytes (RowKey is limited to 1 KiB); the original is kept in a
// property. JSON values are stored as binary properties, split over
// several properties past 64 KB (the service's per-property limit): an
// entity holds about 700 kB of them. A finding's JSON is capped at one property:
// evidence that does not fit is replaced by {EvidenceDropped: "<n> bytes
// …"}. Times are stored as Edm.DateTime (UTC, 100 ns); the zero time as
// 1601-01-01, the type's lower bound.
//
// # Concurrency
//
// Several invocations, on several instances, use the same tables.
// Read-modify-write goes through ETags: SaveCursor and SaveSubscription
// insert only what does not exist and replace only what they read;
// RecordFindings inserts a new finding only if absent, so of two calls
// recording the same new finding exactly one reports it new; ClaimOutbox
// leases an item with an If-Match update, so two claimers never get the
// same item. A write whose answer was lost and that the SDK retried is
// recognised by a random token stored with it, so it is not mistaken for a
// lost race. Writes of many rows (PutBaselines, DeleteBaselines,
// EnqueueOutbox, AddSignIns, AddSignInFailures, PruneSignInFailures, PruneOutbox) use entity group transactions of
// up to 100 rows per partition.
//
// # Errors
//
// Errors are one line ("store: save cursor \"audits\": conflict: 412
// Precondition Failed (UpdateConditionNotSatisfied)"). They wrap ErrConflict
// (and so tenant.ErrConflict) for a lost optimistic-concurrency race (409,
// 412), ErrNotFound for a
// missing row an operation needed, tenant.ErrUnreachable when the storage
// gave no answer at all, and the service's *azcore.ResponseError, which
// errors.As still finds. No error shows a secret: a service answer is
// rendered as its status and error code, a transport error through
// shared/redact (its URL carries the SAS of a SAS connection string).
package store
