// Package tenant holds tenantwatch's domain types: the parts of a Microsoft
// Entra ID / Microsoft 365 tenant that detection looks at (users, licences,
// service principals, applications, audit events, sign-ins, Conditional
// Access), the Snapshot that carries one collection of them (with the
// changes an incremental round found), the rules and findings that
// detection produces, and the sentinel errors of the adapters. It holds
// what detection and reporting reason about and nothing else: the records
// of the deployed app's state (cursors, baselines, subscriptions, finding
// records, the outbox) are in shared/state.
//
// The package has no dependencies beyond the standard library. Adapters
// (shared/graph for Microsoft Graph, shared/store for Table Storage) convert
// to and from these types so that no other package sees an SDK model.
//
// Every string that comes from the tenant (display names, user principal
// names, certificate names, URLs) is attacker-controlled: it is carried here
// verbatim and escaped by the sink that renders it.
package tenant
